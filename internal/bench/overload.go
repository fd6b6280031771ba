package bench

// The overload mode: the beat mode's schedule, sent by the lean generator
// (pipe.go), so the machine can offer more than the cluster takes. Each
// instance keeps trying as a Nacos client does: a beat refused with 429
// is sent again at once to the next node (nacos-sdk-go v1 retries a failed
// request on the next server), up to once per node, then waits for its
// next period; a registration refused, or a beat that finds no instance,
// registers again at the next period. Every instance therefore keeps
// trying to beat, and one any node ever shows as unhealthy is a false
// expiry. Goodput is the beats answered 200 per second in the measured
// window, which starts one interval after the ramp (once the last
// registrations were answered and every instance beat); the worst 5 s
// window shows whether it held.
//
// By default an instance beats as every Nacos client does (nacos-sdk-go's
// BeatReactor, the Java client's BeatTask): it sends a beat, waits for its
// answer, or gives a try up after Timeout (and tries the next node, as a
// failed request), and sends the next beat one Interval after the last
// ended. Such clients slow down when the cluster does: Instances/Interval
// is what they would send if answers took no time. OpenLoop instead sends
// every instance's beat every Interval whatever became of the last, a
// storm no Nacos client makes; without a timeout.

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The registration states of an instance in the overload mode.
const (
	mustRegister int32 = iota
	registering
	registered
)

// overloadTally counts the answers of one scheduler; callbacks from the
// pipes' readers update it.
type overloadTally struct {
	mu                         sync.Mutex // guards every field
	regs, regShed, regErrs     int
	beats, shed, retried, errs int
	notFound                   int
	// tries are the beats sent (retries among them), timeouts the tries
	// given up on (closed loop), afterGiveUp their answers that came later.
	tries, timeouts, afterGiveUp int
	firstErr                     error
	lat, late, admitted          Latencies     // admitted: per answered attempt
	perSecond                    map[int64]int // goodput by second of the measured window
	// timeline counts the beats answered 200 ([0]) and 429 ([1]) by
	// second since the run's start, ramp included.
	timeline map[int64][2]int
}

// Overload runs the beat schedule of cfg with the lean generator and
// env.Concurrency connections spread over the nodes.
func Overload(ctx context.Context, env *Env, cfg BeatConfig) (*Report, error) {
	n := cfg.Instances
	if err := cfg.withDefaults("overload"); err != nil {
		return nil, err
	}
	started := time.Now()
	prefix := "bench-over-" + runID() + "-"
	addrs := env.Client.Addrs
	hosts := make([]string, len(addrs))
	for i, a := range addrs {
		u, err := url.Parse(a)
		if err != nil || u.Scheme != "http" {
			return nil, fmt.Errorf("bench: overload: %q: the lean generator speaks plain http only", a)
		}
		hosts[i] = u.Host
	}
	// One pipe per client connection, spread over the nodes; each owns the
	// instances i ≡ c (mod conns) and runs their schedule, so a slow answer
	// delays its own instances only, as with real clients.
	pctx, stopPipes := context.WithCancel(ctx)
	conns := (max(env.Concurrency, len(hosts)) + len(hosts) - 1) / len(hosts) * len(hosts)
	pipes := make([]*pipe, conns)
	for c := range pipes {
		pipes[c] = newPipe(pctx, hosts[c%len(hosts)], max(cfg.Depth, 1))
	}
	defer func() {
		stopPipes()
		for _, p := range pipes {
			p.wait()
		}
	}()

	watch := &unhealthyWatch{seen: map[string]bool{}}
	wctx, stopWatch := context.WithCancel(ctx)
	var wwg sync.WaitGroup
	wwg.Go(func() { watch.run(wctx, env.Client, prefix, cfg.Check) })

	start := time.Now()
	run := &overloadRun{ctx: ctx, cfg: cfg, hosts: hosts, pipes: pipes, prefix: prefix,
		md: beatMetadata(cfg.Interval, 3*cfg.Interval, 6*cfg.Interval),
		// Measured from --settle (one interval) after the ramp: the
		// last registrations have been answered and every instance
		// has beaten.
		start: start, beatFrom: start.Add(cfg.Ramp + cfg.settle()), state: make([]atomic.Int32, n), period: make([]atomic.Int64, n)}
	run.end = run.beatFrom.Add(env.Duration)
	beatFrom := run.beatFrom
	var cpu atomic.Pointer[cpuMeter]
	cpuTimer := time.AfterFunc(time.Until(beatFrom), func() { cpu.Store(startCPU(env)) })
	defer cpuTimer.Stop()
	tallies := make([]*overloadTally, conns)
	var wg sync.WaitGroup
	for s := range conns {
		tallies[s] = &overloadTally{perSecond: map[int64]int{}, timeline: map[int64][2]int{}}
		wg.Go(newScheduler(run, s, tallies[s]).run)
	}
	wg.Wait()
	waitOutstanding(&run.outstanding, 10*time.Second)
	r := &Report{Mode: "beat --overload", Params: env.params()}
	if m := cpu.Load(); m != nil {
		var beats int
		for _, t := range tallies {
			t.mu.Lock()
			beats += t.beats
			t.mu.Unlock()
		}
		m.report(r, "beat", beats)
	}
	for _, a := range addrs {
		watch.check(ctx, env.Client, a, prefix)
	}
	stopWatch()
	wwg.Wait()
	return finish(overloadReport(r, env, cfg, tallies, watch, beatFrom, run.end), started), nil
}

// answerErr is the error of an answer that is neither 200 nor 429.
func answerErr(a pipeAnswer) error {
	if a.Err != nil {
		return a.Err
	}
	return &statusError{status: a.Status, body: string(a.Body)}
}

// waitOutstanding waits for the answers still in flight, at most d.
func waitOutstanding(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}

// overloadReport sums the tallies into r.
func overloadReport(r *Report, env *Env, cfg BeatConfig, tallies []*overloadTally, watch *unhealthyWatch, from, to time.Time) *Report {
	var sum overloadTally
	var lats, lates, admitted []Latencies
	perSecond := map[int64]int{}
	timeline := map[int64][2]int{}
	for _, t := range tallies {
		t.mu.Lock()
		sum.regs += t.regs
		sum.regShed += t.regShed
		sum.regErrs += t.regErrs
		sum.beats += t.beats
		sum.shed += t.shed
		sum.retried += t.retried
		sum.errs += t.errs
		sum.notFound += t.notFound
		sum.tries += t.tries
		sum.timeouts += t.timeouts
		sum.afterGiveUp += t.afterGiveUp
		sum.firstErr = firstOf(sum.firstErr, t.firstErr)
		lats, lates, admitted = append(lats, t.lat), append(lates, t.late), append(admitted, t.admitted)
		for s, c := range t.perSecond {
			perSecond[s] += c
		}
		for s, c := range t.timeline {
			tl := timeline[s]
			tl[0], tl[1] = tl[0]+c[0], tl[1]+c[1]
			timeline[s] = tl
		}
		t.mu.Unlock()
	}
	lat, late, adm := NewLatencies(lats...), NewLatencies(lates...), NewLatencies(admitted...)
	r.Params["instances"] = strconv.Itoa(cfg.Instances)
	r.Params["services"] = strconv.Itoa(cfg.Services)
	r.Params["interval"] = cfg.Interval.String()
	r.Params["duration"] = env.Duration.String()
	r.Params["ramp"] = cfg.Ramp.String()
	r.Params["settle"] = cfg.settle().String()
	r.Params["connections"] = strconv.Itoa(env.Concurrency)
	r.Params["depth"] = strconv.Itoa(max(cfg.Depth, 1))
	if cfg.OpenLoop {
		r.Params["clients"] = "open loop: every beat every interval"
	} else {
		r.Params["clients"] = "closed loop, as Nacos clients: the next beat an interval after the last ended"
		r.Params["try timeout"] = cfg.Timeout.String()
	}
	offered := float64(cfg.Instances) / cfg.Interval.Seconds()
	r.Add("offered beat rate", offered, "beats/s")
	window := to.Sub(from).Seconds()
	goodput := 0.0
	if window > 0 {
		goodput = float64(sum.beats) / window
	}
	r.AddRate("goodput (beats answered 200)", goodput, "beats/s", env.postFloor())
	addWindows(r, "goodput", perSecond, window) // by whole 5 s windows of the measured time
	r.Notef("beats answered 200 (and 429) per second, by 5 s from the start (the window starts at %v: the ramp, then --settle): %s",
		cfg.Ramp+cfg.settle(), timelineByFive(timeline))
	r.Add("beat tries sent per second", float64(sum.tries)/max(window, 1e-9), "req/s")
	r.Add("shed (429) per second", float64(sum.shed)/max(window, 1e-9), "req/s")
	if !cfg.OpenLoop {
		r.Add("tries given up (no answer within the timeout)", float64(sum.timeouts), UnitCount)
		r.Add("answers after their try was given up", float64(sum.afterGiveUp), UnitCount)
	}
	r.Add("retries after 429", float64(sum.retried), UnitCount)
	r.AddMs("beat latency p50", lat.Percentile(0.50))
	r.AddMs("beat latency p99", lat.Percentile(0.99))
	r.AddMs("admitted attempt latency p50", adm.Percentile(0.50))
	r.AddMs("admitted attempt latency p99", adm.Percentile(0.99))
	r.AddMs("send lateness p50", late.Percentile(0.50))
	r.AddMs("send lateness p99", late.Percentile(0.99))
	r.Add("beat errors", float64(sum.errs), UnitCount)
	r.Add("beats that found no instance", float64(sum.notFound), UnitCount)
	r.Add("registered", float64(sum.regs), UnitCount)
	r.Add("registrations shed", float64(sum.regShed), UnitCount)
	r.Add("register errors", float64(sum.regErrs), UnitCount)
	watch.report(r)
	if sum.firstErr != nil {
		r.Notef("first error: %v", sum.firstErr)
	}
	if p := late.Percentile(0.99); p > cfg.Interval/10 {
		r.Notef("the generator fell behind its schedule (p99 %v late): its figures do not show the offered rate", p.Round(time.Millisecond))
	}
	return r
}

// timelineByFive renders a timeline by 5 s: "0s 120 (0), 5s 640 (3), …",
// each the mean per second of its 5 s.
func timelineByFive(tl map[int64][2]int) string {
	last := int64(-1)
	for s := range tl {
		last = max(last, s)
	}
	var b strings.Builder
	for w := int64(0); w*5 <= last; w++ {
		var ok, shed int
		for s := w * 5; s < (w+1)*5; s++ {
			ok, shed = ok+tl[s][0], shed+tl[s][1]
		}
		if w > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%ds %d (%d)", w*5, ok/5, shed/5)
	}
	return b.String()
}

// settle is how long after the ramp the measured window starts.
func (cfg BeatConfig) settle() time.Duration {
	if cfg.Settle > 0 {
		return cfg.Settle
	}
	return cfg.Interval
}
