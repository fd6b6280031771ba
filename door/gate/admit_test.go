package gate

import (
	"math"
	"net/http"
	"net/http/httptest"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// fakeSched is a scheduler-wait histogram a test fills: buckets 0–1 ms,
// 1–10 ms, 10–100 ms, 100 ms and more.
type fakeSched struct {
	mu     sync.Mutex
	counts []uint64
}

func (f *fakeSched) add(bucket int, n uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.counts[bucket] += n
}

func (f *fakeSched) read() *metrics.Float64Histogram {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &metrics.Float64Histogram{Counts: append([]uint64(nil), f.counts...), Buckets: []float64{0, .001, .01, .1, math.Inf(1)}}
}

// fakeClock is a clock a test moves.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }
func newFakeClock() *fakeClock               { c := &fakeClock{}; c.ns.Store(time.Unix(1e9, 0).UnixNano()); return c }
func (a *admission) shareNow() float64       { return math.Float64frombits(a.share.Load()) }
func admitted(a *admission, n int) (yes int) {
	for range n {
		if a.admit() {
			yes++
		}
	}
	return yes
}

// The shed share grows while the scheduler waits are over target, tells
// the core, and falls back to zero once they are short again; a light load
// (too few waits to judge) and short waits shed nothing.
func TestAdmission_shedsWhileSchedulerWaitsAreLong(t *testing.T) {
	sched := &fakeSched{counts: make([]uint64, 4)}
	clock := newFakeClock()
	var overloads atomic.Int64
	a := newAdmission(20*time.Millisecond, sched.read, clock.now, func() { overloads.Add(1) })
	window := func(bucket int, waits uint64) {
		sched.add(bucket, waits)
		clock.advance(admitWindow)
		a.admit() // the first request of a window judges the last one
	}
	window(0, 1000) // primes the histogram
	for range 5 {
		window(0, 1000) // 90% under 1 ms
	}
	if got := admitted(a, 1000); got != 1000 || a.shareNow() != 0 || overloads.Load() != 0 {
		t.Fatalf("short waits: admitted %d of 1000, share %v, %d overload notes; want all, 0, 0", got, a.shareNow(), overloads.Load())
	}
	for range 12 {
		window(2, 1000) // p90 in 10–100 ms: over the 20 ms target
	}
	if got := a.shareNow(); got != maxShed {
		t.Fatalf("after 12 windows over target the share is %v, want %v", got, maxShed)
	}
	if got := admitted(a, 10000); got < 200 || got > 900 {
		t.Fatalf("at share %v admitted %d of 10000, want about 500", maxShed, got)
	}
	if overloads.Load() < 12 {
		t.Fatalf("%d overload notes to the core, want one per window over target (12)", overloads.Load())
	}
	for range 12 {
		window(0, 1000)
	}
	if got := admitted(a, 1000); got != 1000 || a.shareNow() != 0 {
		t.Fatalf("recovered: admitted %d of 1000 at share %v; want all, 0", got, a.shareNow())
	}
	for range 12 {
		window(3, 10) // long waits, but too few to judge by
	}
	if a.shareNow() != 0 {
		t.Fatalf("share %v from %d waits per window, want 0 (fewer than minWaits)", a.shareNow(), 10)
	}
}

// An overloaded gate answers a client request 429 with Retry-After at
// once, without running its handler; probes and internal traffic pass.
func TestGate_overloadedAnswers429Quickly(t *testing.T) {
	g, err := New(Config{ShedLatency: 20 * time.Millisecond, Now: time.Now}, nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	sched := &fakeSched{counts: make([]uint64, 4)}
	g.admit.read = sched.read
	var handled atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		handled.Add(1)
		time.Sleep(200 * time.Millisecond) // what an overloaded node would take
	})
	h := g.Wrap(mux)
	serve := func(path string) (*httptest.ResponseRecorder, time.Duration) {
		w := httptest.NewRecorder()
		t0 := time.Now()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		return w, time.Since(t0)
	}
	// Windows of long scheduler waits, on the real clock.
	for range 12 {
		sched.add(3, 1000)
		g.admit.next.Store(0)
		g.admit.update()
	}
	shed, fast := 0, 0
	for range 40 {
		sched.add(3, 1000)     // the waits stay long
		w, took := serve("/x") // counted, not gated: no core needed
		if w.Code == http.StatusTooManyRequests {
			shed++
			if w.Header().Get("Retry-After") != "1" {
				t.Fatalf("429 without Retry-After: 1: %v", w.Header())
			}
			if took < 100*time.Millisecond { // half what the handler takes
				fast++
			}
		}
	}
	if shed < 20 || fast != shed {
		t.Fatalf("%d of 40 requests shed, %d of them within 100 ms; want most shed, all at once", shed, fast)
	}
	if n := handled.Load(); n > 20 {
		t.Fatalf("the handler ran %d times of 40", n)
	}
	if w, _ := serve("/healthz"); w.Code != http.StatusOK {
		t.Fatalf("probe while overloaded: %d, want 200", w.Code)
	}
}
