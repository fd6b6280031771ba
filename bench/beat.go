package bench

// The beat mode holds N instances beating at their interval. It is an
// open-loop schedule, not a closed loop: instance slots are spread evenly
// over the interval, each worker owns every C-th slot and sends each
// operation at its due time (at once if it is late), so the offered rate is
// N/interval whatever the latency. The first round registers the
// instances (POST instance with their heartbeat timings); every later round
// is a light beat (PUT instance/beat), sent to the node the instance was
// registered on, spread over all nodes. A watcher polls every node for
// instances that are not healthy.

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// BeatConfig configures the beat mode.
type BeatConfig struct {
	Instances int
	Services  int
	Interval  time.Duration // beat interval; timeout 3×, delete 6×
	// Check is how often every node is polled for unhealthy instances.
	Check time.Duration
}

// unhealthyWatch records every instance any node showed as unhealthy.
type unhealthyWatch struct {
	mu      sync.Mutex // guards seen, polls, errs, lastErr
	seen    map[string]bool
	polls   int
	errs    int
	lastErr error
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
	svcs, err := c.services(ctx, base)
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
		var list struct {
			Instances []struct {
				InstanceID string `json:"instanceId"`
				Healthy    bool   `json:"healthy"`
			} `json:"instances"`
		}
		q := url.Values{"service": {s.Service}, "group": {s.Group}, "namespace": {Namespace}, "healthyOnly": {"false"}}
		if _, err := c.GetJSON(ctx, base, "/v1/instances", q, &list); err != nil {
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
	if n <= 0 || cfg.Interval <= 0 {
		return nil, fmt.Errorf("bench: beat: need instances > 0 and interval > 0")
	}
	if cfg.Services <= 0 || cfg.Services > n {
		cfg.Services = min(max(n/1000, 1), n)
	}
	if cfg.Check <= 0 {
		cfg.Check = time.Second
	}
	started := time.Now()
	prefix := "bench-beat-" + runID() + "-"
	addrs := env.Client.Addrs
	md := beatMetadata(cfg.Interval, 3*cfg.Interval, 6*cfg.Interval)
	slot := float64(cfg.Interval) / float64(n)

	watch := &unhealthyWatch{seen: map[string]bool{}}
	wctx, stopWatch := context.WithCancel(ctx)
	var wwg sync.WaitGroup
	wwg.Add(1)
	go func() { defer wwg.Done(); watch.run(wctx, env.Client, prefix, cfg.Check) }()

	start := time.Now()
	beatFrom := start.Add(cfg.Interval) // the measured window starts after round 0
	end := beatFrom.Add(env.Duration)
	type tally struct {
		regs, regErrs, beats, beatErrs, notFound int
		firstErr                                 error
		lat, late                                Latencies
	}
	tallies := make([]tally, c)
	var wg sync.WaitGroup
	for w := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := &tallies[w]
			for b := 0; ; b++ {
				slotIdx := b*c + w
				due := start.Add(time.Duration(float64(slotIdx) * slot))
				if !due.Before(end) || ctx.Err() != nil {
					return
				}
				if d := time.Until(due); d > 0 {
					select {
					case <-ctx.Done():
						return
					case <-time.After(d):
					}
				}
				i := slotIdx % n
				svc := prefix + strconv.Itoa(i%cfg.Services)
				base := addrs[i%len(addrs)]
				t0 := time.Now()
				if slotIdx < n {
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
				t.beats++
				t.lat = append(t.lat, t1.Sub(t0))
				t.late = append(t.late, max(t0.Sub(due), 0))
			}
		}()
	}
	wg.Wait()
	beatEnd := time.Now()
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
	r := &Report{Mode: "beat", Params: env.params()}
	r.Params["instances"] = strconv.Itoa(n)
	r.Params["services"] = strconv.Itoa(cfg.Services)
	r.Params["interval"] = cfg.Interval.String()
	r.Params["duration"] = env.Duration.String()
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
	watch.mu.Lock()
	r.Add("instances ever seen unhealthy", float64(len(watch.seen)), UnitCount)
	r.Add("health polls", float64(watch.polls), UnitCount)
	if watch.errs > 0 {
		r.Notef("%d health polls failed; last: %v", watch.errs, watch.lastErr)
	}
	watch.mu.Unlock()
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
