package bench

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/roster-io/roster/internal/agentproc"
)

// visibility times writes until they are visible on every node: each
// registers a new instance on the next node in turn, one at a time, and
// every node is watched with a blocking query (as in the lag mode). A
// write's figure is from just before its POST until the last node's
// query returned it.
func (s *scaleRun) visibility(ctx context.Context) error {
	procs := s.lc.Live()
	before, err := scrapeAll(ctx, s.hc, procs)
	if err != nil {
		return err
	}
	service := "bench-scale-vis-" + runID()
	register := func(i int) error {
		return s.c.Form(ctx, http.MethodPost, procs[i%len(procs)].URL(), "/nacos/v1/ns/instance", registerForm(service, i, false, longLived))
	}
	if err := register(0); err != nil {
		return err
	}
	wctx, stop := context.WithCancel(ctx)
	events := make(chan seenEvent, 4096)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for i, p := range procs {
		wg.Go(func() { watchService(wctx, s.c, i, p.URL(), service, events, errs) })
	}
	defer func() { stop(); wg.Wait() }()
	seen := map[string]int{}
	var last time.Time
	// wait collects events until every node saw ip, or within passes.
	wait := func(ip string, within time.Duration) bool {
		timer := time.NewTimer(within)
		defer timer.Stop()
		for seen[ip] < len(procs) {
			select {
			case ev := <-events:
				seen[ev.ip]++
				if ev.ip == ip {
					last = ev.at
				}
			case <-errs:
			case <-timer.C:
				return false
			case <-ctx.Done():
				return false
			}
		}
		return true
	}
	if !wait(instanceIP(0), 30*time.Second) {
		return fmt.Errorf("the first write was not visible on every node within 30s")
	}
	var lat Latencies
	for k := 1; k <= s.cfg.Writes && ctx.Err() == nil; k++ {
		sent := time.Now()
		if err := register(k); err != nil {
			return err
		}
		if wait(instanceIP(k), 5*time.Second) {
			lat = append(lat, last.Sub(sent))
		} else {
			s.r.WritesNotVisible++
		}
		time.Sleep(5 * time.Millisecond)
	}
	if len(lat) == 0 {
		return fmt.Errorf("no write was visible on every node")
	}
	lat = NewLatencies(lat)
	s.r.WriteVisibleP50Ms = toMs(lat.Percentile(0.50))
	s.r.WriteVisibleP99Ms = toMs(lat.Percentile(0.99))
	s.r.WriteVisibleMaxMs = toMs(lat.Max())
	return s.countSuspicions(ctx, procs, before)
}

// countSuspicions adds the suspicions raised on procs since before.
func (s *scaleRun) countSuspicions(ctx context.Context, procs []*agentproc.Proc, before []nodeCounters) error {
	after, err := scrapeAll(ctx, s.hc, procs)
	if err != nil {
		return err
	}
	for i := range after {
		d := after[i].sub(before[i])
		s.r.FalseSuspicions += d.v[cSuspicions]
		s.r.Refutations += d.v[cRefutes]
	}
	return nil
}
