package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/roster-io/roster/internal/agentproc"
	"github.com/roster-io/roster/internal/bench"
)

// The flood: hostile load past the cluster's capacity, sent by the lean
// generator of roster bench (bench.Pipe: HTTP/1.1 pipelined over
// floodConns connections per node). Its requests are those of many Nacos
// clients: beats and registrations of instances of its own services
// (FloodService), and reads of the chaos services' lists. It first
// measures what the cluster holds (probe: as fast as the pipes take
// requests, the 200 answers per second), then offers a multiple of that
// on a fixed schedule (run), each connection sending when due whether or
// not earlier answers came back, as long as it has room for another
// request in flight; one that fell behind skips ahead and counts what it
// skipped. Every answer is tallied per node and
// second into the History; the checker holds the cluster to answering
// the flood promptly, with 429s if it cannot do the work (checks_flood.go).

// FloodService prefixes the flood's own services.
const FloodService = "chaos-flood-"

// The flood's shape: floodConns connections to each node, each with at
// most floodDepth requests waiting for answers, as roster bench's
// overload mode sends by default. A deeper pipeline queues requests in
// the agents' socket buffers, where their admission control does not see
// them (docs/chaos.md, "Known limits").
const (
	floodConns    = 64
	floodDepth    = 2
	floodServices = 10                     // services of its own
	floodPool     = 2000                   // instances of its own
	floodProbeCap = 30000                  // requests/s at most while probing
	floodBehind   = 500 * time.Millisecond // a connection this far behind skips ahead
	// FloodSlow: a flood request answered this long after it was handed
	// to its connection waited past what a client waits for a 429.
	FloodSlow = 2 * time.Second
)

// FloodPhase says whether a tally is of the capacity probe or the flood.
type FloodPhase int

// The flood's phases.
const (
	FloodProbe FloodPhase = iota
	FloodOffer
)

// FloodSecond is what the flood's requests to one node, handed to their
// connection within one second, got: Sent in all, OK answered 200, Shed
// 429, Other any other status, Errs no answer (a broken connection, a
// dead node, the end of the run), Slow answered after FloodSlow or more
// (any status), MaxLatency the longest any of them waited for its answer.
// Behind counts the requests the generator did not send because it was
// more than floodBehind behind its schedule (its own lateness, not the
// node's).
type FloodSecond struct {
	T          time.Time // the second's start
	Node       string
	Phase      FloodPhase
	Sent       int
	OK         int
	Shed       int
	Other      int
	Errs       int
	Slow       int
	Behind     int
	MaxLatency time.Duration
}

// FloodPlan is what the flood aimed at: Capacity, the 200 answers per
// second the probe saw (from ProbeFrom to ProbeTo), and Offered, the
// request rate it then offered (from OfferFrom to OfferTo).
type FloodPlan struct {
	Capacity, Offered    float64
	ProbeFrom, ProbeTo   time.Time
	OfferFrom, OfferTo   time.Time
	Connections, PerConn int
}

// flood is one run of the flood against a cluster.
type flood struct {
	c     *agentproc.Cluster
	h     *History
	svcs  []string // services to read
	md    string   // its instances' register metadata
	times Timings

	// mu guards tally and other.
	mu    sync.Mutex
	tally map[floodKey]*FloodSecond
	other string // the first answer neither 200 nor 429
}

type floodKey struct {
	sec   int64
	node  string
	phase FloodPhase
}

func newFlood(c *agentproc.Cluster, h *History, svcs []string, t Timings) *flood {
	t = t.withDefaults()
	md, _ := json.Marshal(t.metadata())
	return &flood{c: c, h: h, svcs: svcs, md: string(md), times: t, tally: map[floodKey]*FloodSecond{}}
}

// note tallies one request to node handed to its connection at at.
func (f *flood) note(phase FloodPhase, node string, at time.Time, fn func(s *FloodSecond)) {
	k := floodKey{at.Unix(), node, phase}
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.tally[k]
	if s == nil {
		s = &FloodSecond{T: time.Unix(k.sec, 0), Node: node, Phase: phase}
		f.tally[k] = s
	}
	fn(s)
}

// firstOther is the first answer neither 200 nor 429, or "".
func (f *flood) firstOther() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.other
}

// flush records the tallies in the history.
func (f *flood) flush() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.tally {
		f.h.AddFlood(*s)
	}
	f.tally = map[floodKey]*FloodSecond{}
}

// request builds one of the flood's requests to host.
func (f *flood) request(rng *rand.Rand, host string) []byte {
	i := rng.IntN(floodPool)
	svc := FloodService + strconv.Itoa(i%floodServices)
	ip := fmt.Sprintf("10.250.%d.%d", i/256, i%256)
	switch k := rng.IntN(10); {
	case k < 5: // a beat
		beat := fmt.Sprintf(`{"serviceName":"DEFAULT_GROUP@@%s","ip":%q,"port":9000,"cluster":"DEFAULT","weight":1,"ephemeral":true,"period":%d}`,
			svc, ip, f.times.Interval.Milliseconds())
		form := url.Values{"serviceName": {svc}, "beat": {beat}}
		return bench.FormRequest("PUT", host, "/nacos/v1/ns/instance/beat", form.Encode())
	case k < 7: // a registration (again)
		form := url.Values{"serviceName": {svc}, "ip": {ip}, "port": {"9000"}, "ephemeral": {"true"}, "metadata": {f.md}}
		return bench.FormRequest("POST", host, "/nacos/v1/ns/instance", form.Encode())
	default: // a read of a chaos service's list
		q := url.Values{"serviceName": {f.svcs[rng.IntN(len(f.svcs))]}}
		return bench.FormRequest("GET", host, "/nacos/v1/ns/instance/list?"+q.Encode(), "")
	}
}

// run sends, over floodConns connections to each node, rate requests per
// second in all (0: as fast as the connections take them, at most
// floodProbeCap), until ctx ends, and waits for the answers in flight
// (at most FloodSlow more).
func (f *flood) run(ctx context.Context, phase FloodPhase, rate float64, conns, depth int, seed uint64) {
	names := map[string]bool{}
	for _, p := range f.c.Live() {
		names[p.Name] = true
	}
	slots := conns * len(names)
	if rate <= 0 {
		rate = floodProbeCap
	}
	every := time.Duration(float64(time.Second) * float64(slots) / rate)
	pctx, stopPipes := context.WithCancel(context.Background())
	var pipes []*bench.Pipe
	var pmu sync.Mutex // guards pipes
	var inflight sync.WaitGroup
	var wg sync.WaitGroup
	n := 0
	for name := range names {
		for c := range conns {
			n++
			rng := rand.New(rand.NewPCG(seed, uint64(n)))
			wg.Go(func() {
				var pipe *bench.Pipe
				var addr string
				cancel := func() {} // the pipe's; all end with pctx
				due := time.Now().Add(time.Duration(c) * every / time.Duration(conns))
				for ctx.Err() == nil {
					if d := time.Until(due); d > 0 {
						if !sleepCtx(ctx, d) {
							return
						}
					}
					p := f.c.Get(name)
					if p == nil { // down: offer nothing to it
						due = time.Now().Add(every)
						continue
					}
					if p.HTTP != addr {
						cancel() // the node's old address
						pipe, cancel = newFloodPipe(pctx, p.HTTP, depth)
						addr = p.HTTP
						pmu.Lock()
						pipes = append(pipes, pipe)
						pmu.Unlock()
					}
					if late := time.Since(due); late > floodBehind {
						skipped := int(late / every)
						f.note(phase, name, time.Now(), func(s *FloodSecond) { s.Behind += skipped })
						due = due.Add(time.Duration(skipped) * every)
					}
					f.send(phase, name, pipe, f.request(rng, addr), &inflight)
					due = due.Add(every)
				}
			})
		}
	}
	wg.Wait()
	waitOutstanding(&inflight, FloodSlow)
	stopPipes()
	pmu.Lock()
	for _, p := range pipes {
		p.Wait()
	}
	pmu.Unlock()
}

// newFloodPipe returns a pipe to addr and what stops it.
func newFloodPipe(ctx context.Context, addr string, depth int) (*bench.Pipe, context.CancelFunc) {
	cctx, cancel := context.WithCancel(ctx)
	return bench.NewPipe(cctx, addr, depth), cancel
}

// send hands raw to pipe and tallies its answer.
func (f *flood) send(phase FloodPhase, node string, pipe *bench.Pipe, raw []byte, inflight *sync.WaitGroup) {
	inflight.Add(1)
	var at time.Time
	ready := make(chan struct{})
	err := pipe.Send(raw, func(status int, body []byte, err error) {
		if err == nil && status != 200 && status != 429 {
			f.mu.Lock()
			if f.other == "" {
				f.other = fmt.Sprintf("%d %s", status, tail(string(body), 200))
			}
			f.mu.Unlock()
		}
		defer inflight.Done()
		<-ready
		lat := time.Since(at)
		f.note(phase, node, at, func(s *FloodSecond) {
			switch {
			case err != nil:
				s.Errs++
			case status == 200:
				s.OK++
			case status == 429:
				s.Shed++
			default:
				s.Other++
			}
			if err == nil && lat >= FloodSlow {
				s.Slow++
			}
			s.MaxLatency = max(s.MaxLatency, lat)
		})
	})
	at = time.Now()
	close(ready)
	if err != nil {
		inflight.Done()
		return
	}
	f.note(phase, node, at, func(s *FloodSecond) { s.Sent++ })
}

// waitOutstanding waits for wg, at most d.
func waitOutstanding(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}

// probe floods the cluster as fast as it answers for d and returns the
// 200 answers per second over its second half.
func (f *flood) probe(ctx context.Context, d time.Duration, seed uint64) (capacity float64, from, to time.Time) {
	pctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	from = time.Now()
	f.run(pctx, FloodProbe, 0, floodConns, floodDepth, seed)
	to = time.Now()
	half := from.Add(d / 2)
	ok := 0
	f.mu.Lock()
	for k, s := range f.tally {
		if k.phase == FloodProbe && !s.T.Before(half.Truncate(time.Second)) && s.T.Before(from.Add(d).Truncate(time.Second)) {
			ok += s.OK
		}
	}
	f.mu.Unlock()
	whole := from.Add(d).Truncate(time.Second).Sub(half.Truncate(time.Second)).Seconds()
	return float64(ok) / max(whole, 1), from, to
}
