package bench

// The overload mode: the beat mode's schedule, sent by the lean generator
// (pipe.go), so the machine can offer more than the cluster takes. Each
// instance keeps trying as a Nacos client does: a beat refused with 429
// is sent again at once to the next node (nacos-sdk-go v1 retries a failed
// request on the next server), up to once per node, then waits for its
// next period; a registration refused, or a beat that finds no instance,
// registers again at the next period. Every instance therefore keeps
// trying to beat, and one any node ever shows as unhealthy is a false
// expiry. Goodput is the beats answered 200 per second after the ramp;
// the worst 5 s window shows whether it held.

import (
	"container/heap"
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
	firstErr                   error
	lat, late, admitted        Latencies     // admitted: per answered attempt
	perSecond                  map[int64]int // goodput by second since the ramp's end
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

	md := beatMetadata(cfg.Interval, 3*cfg.Interval, 6*cfg.Interval)
	start := time.Now()
	beatFrom := start.Add(cfg.Ramp)
	end := beatFrom.Add(env.Duration)
	regSlot := float64(cfg.Ramp) / float64(n)
	tallies := make([]*overloadTally, conns)
	// state[i] is instance i's: must register, registering (a client
	// beats only once its registration answered) or registered.
	state := make([]atomic.Int32, n)
	var outstanding sync.WaitGroup
	var cpu atomic.Pointer[cpuMeter]
	cpuTimer := time.AfterFunc(time.Until(beatFrom), func() { cpu.Store(startCPU(env)) })
	defer cpuTimer.Stop()
	var wg sync.WaitGroup
	for s := range conns {
		t := &overloadTally{perSecond: map[int64]int{}}
		tallies[s] = t
		wg.Go(func() {
			var q opHeap
			for i := s; i < n; i += conns {
				q = append(q, beatOp{due: start.Add(time.Duration(float64(i) * regSlot)), i: i})
			}
			heap.Init(&q)
			for q.Len() > 0 && ctx.Err() == nil {
				op := heap.Pop(&q).(beatOp)
				if !op.due.Before(end) {
					continue
				}
				if time.Since(end) > cfg.Interval {
					return // a period behind at the end: stop, the report says so
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
				node := s % len(hosts)
				measured := !op.due.Before(beatFrom)
				t0 := time.Now()
				switch state[i].Load() {
				case registering:
					continue
				case mustRegister:
					state[i].Store(registering)
					raw := formRequest("POST", hosts[node], "/nacos/v1/ns/instance", registerForm(svc, i, false, md).Encode())
					outstanding.Add(1)
					err := pipes[s].send(raw, func(a pipeAnswer) {
						defer outstanding.Done()
						t.mu.Lock()
						defer t.mu.Unlock()
						switch {
						case a.Err == nil && a.Status == 200:
							t.regs++
							state[i].Store(registered)
							return
						case a.Err == nil && a.Status == 429:
							t.regShed++
						default:
							t.regErrs++
							t.firstErr = firstOf(t.firstErr, answerErr(a))
						}
						state[i].Store(mustRegister)
					})
					if err != nil {
						outstanding.Done()
					}
					continue
				}
				form := url.Values{"serviceName": {svc}, "namespaceId": {Namespace}, "ip": {instanceIP(i)}, "port": {"8080"}}.Encode()
				// try sends the beat on connection c; after a 429 the
				// next connection, which is on the next node.
				var try func(c, left int)
				try = func(c, left int) {
					raw := formRequest("PUT", hosts[c%len(hosts)], "/nacos/v1/ns/instance/beat", form)
					sent := time.Now()
					outstanding.Add(1)
					err := pipes[c].send(raw, func(a pipeAnswer) {
						defer outstanding.Done()
						t1 := time.Now()
						t.mu.Lock()
						switch {
						case a.Err == nil && a.Status == 200:
							if strings.Contains(string(a.Body), `"code":20404`) {
								t.notFound++
								state[i].Store(mustRegister)
							}
							if measured {
								t.beats++
								t.lat = append(t.lat, t1.Sub(t0))
								t.admitted = append(t.admitted, t1.Sub(sent))
								t.perSecond[int64(t1.Sub(beatFrom)/time.Second)]++
							}
						case a.Err == nil && a.Status == 429:
							if measured {
								t.shed++
							}
							if left > 0 {
								t.retried++
								t.mu.Unlock()
								// Not from the reader: a send may block.
								go try((c+1)%conns, left-1)
								return
							}
						default:
							if measured && ctx.Err() == nil {
								t.errs++
								t.firstErr = firstOf(t.firstErr, answerErr(a))
							}
						}
						t.mu.Unlock()
					})
					if err != nil {
						outstanding.Done()
					}
				}
				try(s, len(hosts)-1)
				if measured { // once the pipe took it
					t.mu.Lock()
					t.late = append(t.late, max(time.Since(op.due), 0))
					t.mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	beatEnd := time.Now()
	waitOutstanding(&outstanding, 10*time.Second)
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
	return finish(overloadReport(r, env, cfg, tallies, watch, beatFrom, beatEnd), started), nil
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
		sum.firstErr = firstOf(sum.firstErr, t.firstErr)
		lats, lates, admitted = append(lats, t.lat), append(lates, t.late), append(admitted, t.admitted)
		for s, c := range t.perSecond {
			perSecond[s] += c
		}
		t.mu.Unlock()
	}
	lat, late, adm := NewLatencies(lats...), NewLatencies(lates...), NewLatencies(admitted...)
	r.Params["instances"] = strconv.Itoa(cfg.Instances)
	r.Params["services"] = strconv.Itoa(cfg.Services)
	r.Params["interval"] = cfg.Interval.String()
	r.Params["duration"] = env.Duration.String()
	r.Params["ramp"] = cfg.Ramp.String()
	r.Params["connections"] = strconv.Itoa(env.Concurrency)
	r.Params["depth"] = strconv.Itoa(max(cfg.Depth, 1))
	offered := float64(cfg.Instances) / cfg.Interval.Seconds()
	r.Add("offered beat rate", offered, "beats/s")
	window := to.Sub(from).Seconds()
	goodput := 0.0
	if window > 0 {
		goodput = float64(sum.beats) / window
	}
	r.AddRate("goodput (beats answered 200)", goodput, "beats/s", env.postFloor())
	addWindows(r, "goodput", perSecond, window) // by whole 5 s windows of the measured time
	r.Add("shed (429) per second", float64(sum.shed)/max(window, 1e-9), "req/s")
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
