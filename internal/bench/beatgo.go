package bench

// The beat mode with the Go client (--client go): the instances are held
// by a few client.Client objects, each keeping many instances alive as a
// service embedding the library would, so their beats go to each
// service's owner batched in PUT /v1/beats. Registrations are spread over
// the ramp by env.Concurrency workers; every client then beats its
// instances on its own schedule (an interval after each acknowledged
// beat). Beats are counted three ways: acknowledged by the clients (the
// headline), received by the agents (roster_beats_received_total, summed
// over the nodes), and how many of those were handed off (0 when every
// beat reached its owner). Send lateness is how long after its due time a
// beat left the client's beat loop. A watcher polls every node for
// instances that are not healthy.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roster-io/roster/client"
)

// goTally counts the beats of one client object.
type goTally struct {
	// window is the measured [from, to), set once the registrations are
	// done; beats before are not counted.
	window    atomic.Pointer[[2]time.Time]
	mu        sync.Mutex // guards the fields below
	beats     int        // acknowledged, due in the window
	errs      int
	shed      int
	firstErr  error
	lat, late Latencies
	perSecond map[int64]int
}

// observe is the client's Config.OnBeat.
func (t *goTally) observe(e client.BeatEvent) {
	w := t.window.Load()
	if w == nil || e.Sent.Before(w[0]) || !e.Sent.Before(w[1]) {
		return
	}
	from := w[0]
	t.mu.Lock()
	defer t.mu.Unlock()
	if e.Err != nil {
		t.errs++
		if ae := (*client.APIError)(nil); errors.As(e.Err, &ae) && ae.Status == http.StatusTooManyRequests {
			t.shed++
		}
		t.firstErr = firstOf(t.firstErr, e.Err)
		return
	}
	t.beats++
	t.lat = append(t.lat, e.Done.Sub(e.Sent))
	t.late = append(t.late, max(e.Sent.Sub(e.Due), 0))
	t.perSecond[int64(e.Done.Sub(from)/time.Second)]++
}

// BeatGo runs the beat mode with cfg.Clients Go clients.
func BeatGo(ctx context.Context, env *Env, cfg BeatConfig) (*Report, error) {
	n := cfg.Instances
	k := max(min(cfg.Clients, n), 1)
	if err := cfg.withDefaults("beat"); err != nil {
		return nil, err
	}
	started := time.Now()
	prefix := "bench-go-" + runID() + "-"
	addrs := env.Client.Addrs

	start := time.Now()
	tallies := make([]*goTally, k)
	clients := make([]*client.Client, k)
	for j := range clients {
		t := &goTally{perSecond: map[int64]int{}}
		tallies[j] = t
		c, err := client.New(client.Config{Addrs: addrs, RequestTimeout: max(cfg.Interval, 5*time.Second),
			OnBeat: t.observe})
		if err != nil {
			return nil, fmt.Errorf("bench: beat: %w", err)
		}
		clients[j] = c
	}
	closeAll := func() {
		// The cluster forgets the instances by their timeouts; a
		// deregistration of each would take longer than the run.
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		for _, c := range clients {
			_ = c.Close(cctx)
		}
	}
	defer closeAll()

	watch := &unhealthyWatch{seen: map[string]bool{}}
	wctx, stopWatch := context.WithCancel(ctx)
	var wwg sync.WaitGroup
	wwg.Go(func() { watch.run(wctx, env.Client, prefix, cfg.Check) })
	defer func() { stopWatch(); wwg.Wait() }()

	// Registrations: instance i by client i mod k, due at its slot of the
	// ramp, taken in order by the workers.
	regSlot := float64(cfg.Ramp) / float64(n)
	var next atomic.Int64
	var regs, regErrs atomic.Int64
	var regErr atomic.Pointer[error]
	var rwg sync.WaitGroup
	for range max(env.Concurrency, 1) {
		rwg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if d := time.Until(start.Add(time.Duration(float64(i) * regSlot))); d > 0 {
					if waitFor(ctx, d) != nil {
						return
					}
				}
				_, err := clients[i%k].Register(ctx, client.Registration{
					InstanceKey:  client.InstanceKey{Service: client.Service{Namespace: Namespace, Name: prefix + strconv.Itoa(i%cfg.Services)}, IP: instanceIP(i), Port: 8080},
					BeatInterval: cfg.Interval, BeatTimeout: 3 * cfg.Interval, DeleteTimeout: 6 * cfg.Interval,
				})
				if err != nil {
					regErrs.Add(1)
					regErr.CompareAndSwap(nil, &err)
					continue
				}
				regs.Add(1)
			}
		})
	}
	rwg.Wait()
	// Beats are measured from the end of the ramp, or an interval after
	// the last registration if they took longer.
	regsDone := time.Since(start)
	beatFrom := start.Add(max(cfg.Ramp, regsDone+cfg.Interval))
	end := beatFrom.Add(env.Duration)
	for _, t := range tallies {
		t.window.Store(&[2]time.Time{beatFrom, end})
	}
	if waitFor(ctx, time.Until(beatFrom)) != nil {
		return nil, ctx.Err()
	}
	hc := env.Client.HTTP
	before := scrapeBeatCounters(ctx, hc, addrs)
	cpu := startCPU(env)
	self0, _ := cpuTime(os.Getpid())
	if waitFor(ctx, time.Until(end)) != nil {
		return nil, ctx.Err()
	}
	after := scrapeBeatCounters(ctx, hc, addrs)
	self1, _ := cpuTime(os.Getpid())
	window := time.Since(beatFrom).Seconds()
	// One last look at every node, then stop the watcher.
	for _, a := range addrs {
		watch.check(ctx, env.Client, a, prefix)
	}
	stopWatch()
	wwg.Wait()

	var sum goTally
	var lats, lates []Latencies
	perSecond := map[int64]int{}
	for _, t := range tallies {
		t.mu.Lock()
		sum.beats += t.beats
		sum.errs += t.errs
		sum.shed += t.shed
		sum.firstErr = firstOf(sum.firstErr, t.firstErr)
		lats, lates = append(lats, t.lat), append(lates, t.late)
		for s, c := range t.perSecond {
			perSecond[s] += c
		}
		t.mu.Unlock()
	}
	r := &Report{Mode: "beat --client go", Params: env.params()}
	received := after.received - before.received
	cpu.report(r, "beat", int(received))
	r.Params["instances"] = strconv.Itoa(n)
	r.Params["services"] = strconv.Itoa(cfg.Services)
	r.Params["clients"] = strconv.Itoa(k)
	r.Params["interval"] = cfg.Interval.String()
	r.Params["duration"] = env.Duration.String()
	r.Params["ramp"] = cfg.Ramp.String()
	r.Add("offered beat rate", float64(n)/cfg.Interval.Seconds(), "beats/s")
	r.AddRate("acknowledged beat rate", float64(sum.beats)/window, "beats/s", env.postFloor())
	if before.ok && after.ok {
		r.Add("beats received by the agents", float64(received)/window, "beats/s")
		r.Add("beats handed off by the agents", float64(after.handedOff-before.handedOff)/window, "beats/s")
	}
	addWindows(r, "acknowledged", perSecond, window)
	lat, late := NewLatencies(lats...), NewLatencies(lates...)
	r.AddMs("beat latency p50", lat.Percentile(0.50))
	r.AddMs("beat latency p99", lat.Percentile(0.99))
	r.AddMs("send lateness p50", late.Percentile(0.50))
	r.AddMs("send lateness p99", late.Percentile(0.99))
	r.AddMs("send lateness max", late.Max())
	r.Add("beat errors", float64(sum.errs), UnitCount)
	r.Add("beats shed (429)", float64(sum.shed), UnitCount)
	r.Add("registered", float64(regs.Load()), UnitCount)
	r.Add("registration time", regsDone.Seconds(), "s")
	r.Add("register errors", float64(regErrs.Load()), UnitCount)
	if sum.beats > 0 {
		r.Add("bench process CPU per beat", float64(self1-self0)/float64(time.Microsecond)/float64(sum.beats), UnitMicros)
	}
	if rss, err := rssBytes(os.Getpid()); err == nil {
		r.Add("bench process RSS", float64(rss)/(1<<20), "MiB")
	}
	watch.report(r)
	if e := regErr.Load(); e != nil {
		r.Notef("first registration error: %v", *e)
	}
	if sum.firstErr != nil {
		r.Notef("first beat error: %v", sum.firstErr)
	}
	if p := late.Percentile(0.99); p > cfg.Interval/10 {
		r.Notef("beats left the clients late (p99 %v): the bench process is short of CPU or the clients wait for answers", p.Round(time.Millisecond))
	}
	if sum.beats == 0 {
		return finish(r, started), fmt.Errorf("bench: beat: no beat was acknowledged: %v", sum.firstErr)
	}
	return finish(r, started), nil
}

// addWindows adds the worst and median whole 5 s windows of perSecond
// (counts by second since the window's start) to r, as "<what>, worst 5 s
// window" and "<what>, median 5 s window".
func addWindows(r *Report, what string, perSecond map[int64]int, window float64) {
	var windows []float64
	for w := int64(0); (w+1)*5 <= int64(window); w++ {
		c := 0
		for s := w * 5; s < (w+1)*5; s++ {
			c += perSecond[s]
		}
		windows = append(windows, float64(c)/5)
	}
	if len(windows) == 0 {
		return
	}
	slices.Sort(windows)
	r.Add(what+", worst 5 s window", windows[0], "beats/s")
	r.Add(what+", median 5 s window", windows[len(windows)/2], "beats/s")
}

// beatCounters are the agents' beat counters, summed over the nodes.
type beatCounters struct {
	received, handedOff float64
	ok                  bool
}

// scrapeBeatCounters reads roster_beats_received_total and
// roster_beats_handed_off_total from every node's /metrics.
func scrapeBeatCounters(ctx context.Context, hc *http.Client, addrs []string) beatCounters {
	out := beatCounters{ok: true}
	for _, a := range addrs {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, a+"/metrics", nil)
		if err != nil {
			return beatCounters{}
		}
		resp, err := hc.Do(req)
		if err != nil {
			return beatCounters{}
		}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			name, v, ok := strings.Cut(sc.Text(), " ")
			if !ok {
				continue
			}
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				continue
			}
			switch name {
			case "roster_beats_received_total":
				out.received += f
			case "roster_beats_handed_off_total":
				out.handedOff += f
			}
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return beatCounters{}
		}
	}
	return out
}

// waitFor waits d or until ctx ends.
func waitFor(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
