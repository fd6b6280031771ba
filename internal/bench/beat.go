package bench

// The beat mode holds N instances beating at their interval. It is an
// open-loop schedule, not a closed loop: registrations (POST instance with
// the heartbeat timings) are spread evenly over a ramp, and each instance
// then gets a light beat (PUT instance/beat) every interval after its own
// registration, sent to the node it was registered on, spread over all
// nodes. Each worker owns every C-th instance and sends each operation at
// its due time (at once if it is late), so the offered rate is
// N/interval whatever the latency. Beats are measured after the ramp. A
// watcher polls every node for instances that are not healthy.

import (
	"container/heap"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roster-io/roster/client"
)

// BeatConfig configures the beat mode.
type BeatConfig struct {
	Instances int
	Services  int
	Interval  time.Duration // beat interval; timeout 3×, delete 6×
	// Check is how often every node is polled for unhealthy instances.
	Check time.Duration
	// Ramp spreads the registrations; beats are measured after it.
	// Default: the interval, or 250 µs per instance if longer.
	Ramp time.Duration
	// Depth is how many requests the overload mode pipelines on one
	// connection at most (default 1: one client per connection).
	Depth int
	// Clients is how many Go client objects hold the instances in the
	// Go client mode (BeatGo).
	Clients int
	// OpenLoop makes the overload mode send every beat on its schedule
	// whatever became of the last; by default an instance's next beat is
	// due an Interval after its last one ended, as Nacos clients do.
	OpenLoop bool
	// Settle is how long after the ramp the overload mode's measured
	// window starts (default: one Interval), so a backlog the
	// registrations left can clear before it.
	Settle time.Duration
	// Timeout is how long the overload mode's closed loop waits for a
	// try's answer before it tries the next node (default 10 s, the
	// timeout of nacos-sdk-go v1).
	Timeout time.Duration
}

// withDefaults checks cfg and fills in what is left unset: a service per
// 1,000 instances, a poll a second, and a ramp long enough to register
// them all at ~4,000/s, at least a round. mode names the caller in errors.
func (cfg *BeatConfig) withDefaults(mode string) error {
	n := cfg.Instances
	if n <= 0 || cfg.Interval <= 0 {
		return fmt.Errorf("bench: %s: need instances > 0 and interval > 0", mode)
	}
	if cfg.Services <= 0 || cfg.Services > n {
		cfg.Services = min(max(n/1000, 1), n)
	}
	if cfg.Check <= 0 {
		cfg.Check = time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Ramp <= 0 {
		cfg.Ramp = max(cfg.Interval, time.Duration(n)*250*time.Microsecond)
	}
	return nil
}

// beatOp is one scheduled operation of an instance: round 0 registers it,
// every later round beats it.
type beatOp struct {
	due   time.Time
	i     int
	round int
}

// opHeap orders operations by due time.
type opHeap []beatOp

func (h opHeap) Len() int           { return len(h) }
func (h opHeap) Less(a, b int) bool { return h[a].due.Before(h[b].due) }
func (h opHeap) Swap(a, b int)      { h[a], h[b] = h[b], h[a] }
func (h *opHeap) Push(x any)        { *h = append(*h, x.(beatOp)) }
func (h *opHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// unhealthyWatch records every instance any node showed as unhealthy.
type unhealthyWatch struct {
	mu      sync.Mutex // guards seen, polls, errs, lastErr
	seen    map[string]bool
	polls   int
	errs    int
	lastErr error
}

// report adds what the watch saw to r.
func (u *unhealthyWatch) report(r *Report) {
	u.mu.Lock()
	defer u.mu.Unlock()
	r.Add("instances ever seen unhealthy", float64(len(u.seen)), UnitCount)
	r.Add("health polls", float64(u.polls), UnitCount)
	if u.errs > 0 {
		r.Notef("%d health polls failed; last: %v", u.errs, u.lastErr)
	}
}

func (u *unhealthyWatch) run(ctx context.Context, c *Client, prefix string, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, a := range c.Addrs {
			u.check(ctx, c, a, prefix)
		}
	}
}

// check polls the node at base once: the per-service counts, and the full
// list of any service with an unhealthy instance.
func (u *unhealthyWatch) check(ctx context.Context, c *Client, base, prefix string) {
	fail := func(err error) {
		if ctx.Err() != nil {
			return
		}
		u.mu.Lock()
		u.errs++
		u.lastErr = err
		u.mu.Unlock()
	}
	node, err := c.node(base)
	if err != nil {
		fail(err)
		return
	}
	svcs, err := node.Services(ctx, Namespace, "")
	if err != nil {
		fail(err)
		return
	}
	u.mu.Lock()
	u.polls++
	u.mu.Unlock()
	for _, s := range svcs {
		if !strings.HasPrefix(s.Service, prefix) || s.Healthy == s.Instances {
			continue
		}
		list, err := node.List(ctx, client.Query{Service: client.Service{Namespace: Namespace, Group: s.Group, Name: s.Service}})
		if err != nil {
			fail(err)
			continue
		}
		u.mu.Lock()
		for _, in := range list.Instances {
			if !in.Healthy {
				u.seen[in.InstanceID] = true
			}
		}
		u.mu.Unlock()
	}
}

// Beat runs the beat mode for one registration round plus env.Duration.
func Beat(ctx context.Context, env *Env, cfg BeatConfig) (*Report, error) {
	n, c := cfg.Instances, max(env.Concurrency, 1)
	if err := cfg.withDefaults("beat"); err != nil {
		return nil, err
	}
	started := time.Now()
	prefix := "bench-beat-" + runID() + "-"
	addrs := env.Client.Addrs
	md := beatMetadata(cfg.Interval, 3*cfg.Interval, 6*cfg.Interval)

	watch := &unhealthyWatch{seen: map[string]bool{}}
	wctx, stopWatch := context.WithCancel(ctx)
	var wwg sync.WaitGroup
	wwg.Add(1)
	go func() { defer wwg.Done(); watch.run(wctx, env.Client, prefix, cfg.Check) }()

	start := time.Now()
	// Registrations are spread over the ramp; each instance then beats
	// every interval after its own registration. Only beats due after the
	// ramp count: the measured window is [start+ramp, +duration).
	beatFrom := start.Add(cfg.Ramp)
	end := beatFrom.Add(env.Duration)
	regSlot := float64(cfg.Ramp) / float64(n)
	type tally struct {
		regs, regErrs, beats, beatErrs, notFound int
		firstErr                                 error
		lat, late                                Latencies
	}
	tallies := make([]tally, c)
	var cpu atomic.Pointer[cpuMeter]
	cpuTimer := time.AfterFunc(time.Until(beatFrom), func() { cpu.Store(startCPU(env)) })
	defer cpuTimer.Stop()
	var wg sync.WaitGroup
	for w := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := &tallies[w]
			// This worker's instances are w, w+c, w+2c, …; its operations
			// run in due order from a heap (round 0 registers).
			var q opHeap
			for i := w; i < n; i += c {
				q = append(q, beatOp{due: start.Add(time.Duration(float64(i) * regSlot)), i: i})
			}
			heap.Init(&q)
			for q.Len() > 0 && ctx.Err() == nil {
				op := heap.Pop(&q).(beatOp)
				if !op.due.Before(end) {
					continue
				}
				if d := time.Until(op.due); d > 0 {
					select {
					case <-ctx.Done():
						return
					case <-time.After(d):
					}
				}
				heap.Push(&q, beatOp{due: op.due.Add(cfg.Interval), i: op.i, round: op.round + 1})
				i := op.i
				svc := prefix + strconv.Itoa(i%cfg.Services)
				base := addrs[i%len(addrs)]
				t0 := time.Now()
				if op.round == 0 {
					if err := env.Client.Form(ctx, http.MethodPost, base, "/nacos/v1/ns/instance", registerForm(svc, i, false, md)); err != nil {
						t.regErrs++
						t.firstErr = firstOf(t.firstErr, err)
					} else {
						t.regs++
					}
					continue
				}
				v := url.Values{"serviceName": {svc}, "namespaceId": {Namespace}, "ip": {instanceIP(i)}, "port": {"8080"}}
				body, _, err := env.Client.Do(ctx, http.MethodPut, base+"/nacos/v1/ns/instance/beat", "application/x-www-form-urlencoded", v.Encode(), true)
				t1 := time.Now()
				measured := !op.due.Before(beatFrom)
				if err != nil {
					if ctx.Err() == nil {
						t.beatErrs++
						t.firstErr = firstOf(t.firstErr, err)
					}
					continue
				}
				if containsCode(body, "20404") {
					t.notFound++
				}
				if measured {
					t.beats++
					t.lat = append(t.lat, t1.Sub(t0))
					t.late = append(t.late, max(t0.Sub(op.due), 0))
				}
			}
		}()
	}
	wg.Wait()
	beatEnd := time.Now()
	var measured int
	for _, t := range tallies {
		measured += t.beats
	}
	r := &Report{Mode: "beat", Params: env.params()}
	if m := cpu.Load(); m != nil {
		m.report(r, "beat", measured)
	}
	// One last look after the run, then stop the watcher.
	for _, a := range addrs {
		watch.check(ctx, env.Client, a, prefix)
	}
	stopWatch()
	wwg.Wait()

	var sum tally
	lats, lates := make([]Latencies, c), make([]Latencies, c)
	for w, t := range tallies {
		sum.regs += t.regs
		sum.regErrs += t.regErrs
		sum.beats += t.beats
		sum.beatErrs += t.beatErrs
		sum.notFound += t.notFound
		sum.firstErr = firstOf(sum.firstErr, t.firstErr)
		lats[w], lates[w] = t.lat, t.late
	}
	lat, late := NewLatencies(lats...), NewLatencies(lates...)
	window := beatEnd.Sub(beatFrom).Seconds()
	r.Params["instances"] = strconv.Itoa(n)
	r.Params["services"] = strconv.Itoa(cfg.Services)
	r.Params["interval"] = cfg.Interval.String()
	r.Params["duration"] = env.Duration.String()
	r.Params["ramp"] = cfg.Ramp.String()
	r.Add("offered beat rate", float64(n)/cfg.Interval.Seconds(), "beats/s")
	achieved := 0.0
	if window > 0 {
		achieved = float64(sum.beats) / window
	}
	r.AddRate("achieved beat rate", achieved, "beats/s", env.postFloor())
	r.AddMs("beat latency p50", lat.Percentile(0.50))
	r.AddMs("beat latency p99", lat.Percentile(0.99))
	r.AddMs("beat latency max", lat.Max())
	r.AddMs("send lateness p99", late.Percentile(0.99))
	r.Add("beats", float64(sum.beats), UnitCount)
	r.Add("beat errors", float64(sum.beatErrs), UnitCount)
	r.Add("beats that found no instance", float64(sum.notFound), UnitCount)
	r.Add("registered", float64(sum.regs), UnitCount)
	r.Add("register errors", float64(sum.regErrs), UnitCount)
	watch.report(r)
	if sum.firstErr != nil {
		r.Notef("first error: %v", sum.firstErr)
	}
	if p := late.Percentile(0.99); p > cfg.Interval/10 {
		r.Notef("the generator fell behind its schedule (p99 %v late): raise --concurrency or lower --instances", p.Round(time.Millisecond))
	}
	if sum.beats == 0 {
		return finish(r, started), fmt.Errorf("bench: beat: no beat succeeded: %v", sum.firstErr)
	}
	return finish(r, started), nil
}

// containsCode reports whether a beat answer carries "code":code.
func containsCode(body []byte, code string) bool {
	return strings.Contains(string(body), `"code":`+code)
}
