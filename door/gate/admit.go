package gate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Admission control. Past its capacity a node must shed load early rather
// than queue it: a request that waits for a CPU until its client gave up
// costs as much as one answered and helps nobody. Where requests queue in
// a Go server is the scheduler's run queue (every connection has its
// goroutine, all runnable at once), so the gate watches how long
// goroutines wait there (runtime/metrics /sched/latencies:seconds): every
// admitWindow it takes the 90th percentile of the waits in that window,
// and while it is above Config.ShedLatency it sheds a growing share of
// client requests (additive increase, up to maxShed), answering 429 with
// Retry-After: 1 at once, before any handler work; once the waits fall
// below half the target the share halves each window. Probes, internal
// traffic and blocking queries are never shed (see kindOf). Whenever it is
// shedding, or the waits are above target, it tells the core
// (node.NoteOverload), whose expiry brake then holds expiries: some of the
// shed requests are beats.

const (
	admitWindow = 50 * time.Millisecond
	shedStep    = 0.1  // added to the shed share per window over target
	maxShed     = 0.95 // the share never reaches 1: some requests always pass
	// minWaits is the fewest scheduler waits a window needs to judge by.
	minWaits = 50
)

// schedHistogram returns the process's cumulative histogram of scheduler
// waits.
type schedHistogram func() *metrics.Float64Histogram

// readSched reads /sched/latencies:seconds.
func readSched() *metrics.Float64Histogram {
	s := []metrics.Sample{{Name: "/sched/latencies:seconds"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindFloat64Histogram {
		return nil
	}
	return s[0].Value.Float64Histogram()
}

// admission decides which client requests to shed. It is safe for
// concurrent use.
type admission struct {
	target     time.Duration // zero: never shed
	read       schedHistogram
	now        func() time.Time
	onOverload func()

	next  atomic.Int64  // unix ns of the next update
	share atomic.Uint64 // float64 bits: the share of requests shed now
	p90   atomic.Int64  // ns: the last window's 90th percentile wait
	shed  atomic.Uint64 // requests shed

	// mu guards prev.
	mu   sync.Mutex
	prev []uint64
}

func newAdmission(target time.Duration, read schedHistogram, now func() time.Time, onOverload func()) *admission {
	return &admission{target: target, read: read, now: now, onOverload: onOverload}
}

// admit reports whether to handle a request now; false: shed it.
func (a *admission) admit() bool {
	if a.target <= 0 {
		return true
	}
	a.update()
	p := math.Float64frombits(a.share.Load())
	if p <= 0 || rand.Float64() >= p {
		return true
	}
	a.shed.Add(1)
	return false
}

// update re-judges the load once per window; one caller does it, the
// others go on at once.
func (a *admission) update() {
	now := a.now().UnixNano()
	next := a.next.Load()
	if now < next || !a.next.CompareAndSwap(next, now+int64(admitWindow)) {
		return
	}
	a.mu.Lock()
	p90, n := a.windowP90()
	a.mu.Unlock()
	share := math.Float64frombits(a.share.Load())
	switch {
	case n < minWaits:
		// Too little ran to judge: keep the share, but let it decay.
		share /= 2
	case p90 > a.target:
		share = min(share+shedStep, maxShed)
	case p90 < a.target/2:
		share /= 2
	}
	if share < 0.01 {
		share = 0
	}
	a.share.Store(math.Float64bits(share))
	a.p90.Store(int64(p90))
	if share > 0 || (n >= minWaits && p90 > a.target) {
		a.onOverload()
	}
}

// windowP90 returns the 90th percentile of the scheduler waits since the
// last call and how many there were. The caller holds mu.
func (a *admission) windowP90() (time.Duration, uint64) {
	h := a.read()
	if h == nil {
		return 0, 0
	}
	if len(a.prev) != len(h.Counts) {
		a.prev = make([]uint64, len(h.Counts))
		copy(a.prev, h.Counts)
		return 0, 0
	}
	var total uint64
	for i, c := range h.Counts {
		total += c - a.prev[i]
	}
	want := (total*9 + 9) / 10
	var seen uint64
	var p90 time.Duration
	for i, c := range h.Counts {
		seen += c - a.prev[i]
		if seen >= want && total > 0 {
			upper := h.Buckets[i+1]
			if math.IsInf(upper, 1) {
				upper = h.Buckets[i]
			}
			p90 = time.Duration(upper * float64(time.Second))
			break
		}
	}
	copy(a.prev, h.Counts)
	return p90, total
}

// tooBusy is the error of a shed request.
func (a *admission) tooBusy() error {
	return fmt.Errorf("%w: this node is overloaded and sheds %.0f%% of client requests (scheduler delay p90 %v, target %v); retry shortly or on another node",
		ErrTooBusy, 100*math.Float64frombits(a.share.Load()), time.Duration(a.p90.Load()).Round(time.Microsecond), a.target)
}

// startAdmission builds the gate's admission control and registers its
// metrics with reg.
func (g *Gate) startAdmission(reg prometheus.Registerer) error {
	now, note := g.cfg.Now, func() {}
	if now == nil {
		now = time.Now
	}
	if g.core != nil {
		note = g.core.NoteOverload
	}
	g.admit = newAdmission(g.cfg.ShedLatency, readSched, now, note)
	for _, c := range g.admit.collectors() {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("gate: metrics: %w", err)
		}
	}
	return nil
}

// collectors are the admission metrics.
func (a *admission) collectors() []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "roster_http_shed_total",
			Help: "Client requests shed with 429 because the node was overloaded (--shed-latency).",
		}, func() float64 { return float64(a.shed.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "roster_http_shed_share",
			Help: "The share of client requests this node sheds now (0 when not overloaded).",
		}, func() float64 { return math.Float64frombits(a.share.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "roster_sched_delay_p90_seconds",
			Help: "The 90th percentile of how long goroutines waited for a CPU in the last 50 ms the gate judged (what --shed-latency is compared with).",
		}, func() float64 { return time.Duration(a.p90.Load()).Seconds() }),
	}
}
