package bench

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/roster-io/roster/client"
	"github.com/roster-io/roster/internal/agentproc"
)

// visibility times writes until they are visible on every node: each
// re-registers one instance with the write's number in its metadata, on
// the next node in turn, one at a time, and every node is watched with a
// blocking query (as in the lag mode). A write's figure is from just
// before its POST until the last node's query returned it. The service
// holds that one instance, so what each node sends back and the bench
// decodes per write stays the same whatever the number of writes: with a
// new instance per write, the N answers of the k-th write carried k
// instances each, and decoding them loaded the machine the nodes share.
func (s *scaleRun) visibility(ctx context.Context) error {
	procs := s.lc.Live()
	before, err := scrapeAll(ctx, s.hc, procs)
	if err != nil {
		return err
	}
	service := "bench-scale-vis-" + runID()
	register := func(k int) error {
		md := map[string]string{visibleKey: strconv.Itoa(k)}
		maps.Copy(md, longLived)
		return s.c.Form(ctx, http.MethodPost, procs[k%len(procs)].URL(), "/nacos/v1/ns/instance", registerForm(service, 0, false, md))
	}
	if err := register(0); err != nil {
		return err
	}
	wctx, stop := context.WithCancel(ctx)
	events := make(chan writeSeen, 4096)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for i, p := range procs {
		wg.Go(func() { watchWrites(wctx, s.c, i, p.URL(), service, events, errs) })
	}
	defer func() { stop(); wg.Wait() }()
	seen := map[int]int{} // write → nodes that saw it (or a later one)
	var last time.Time
	// wait collects events until every node saw write k, or within passes.
	wait := func(k int, within time.Duration) bool {
		timer := time.NewTimer(within)
		defer timer.Stop()
		for seen[k] < len(procs) {
			select {
			case ev := <-events:
				seen[ev.write]++
				if ev.write == k {
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
	if !wait(0, 30*time.Second) {
		return fmt.Errorf("the first write was not visible on every node within 30s")
	}
	var lat Latencies
	for k := 1; k <= s.cfg.Writes && ctx.Err() == nil; k++ {
		sent := time.Now()
		if err := register(k); err != nil {
			return err
		}
		if wait(k, 5*time.Second) {
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

// visibleKey is the metadata key holding a timed write's number.
const visibleKey = "bench.write"

// writeSeen is one node's first answer showing write (or a later one).
type writeSeen struct {
	node, write int
	at          time.Time
}

// watchWrites follows service on base with blocking queries and sends,
// for each write number the instance's metadata newly shows, one event
// per write from the last it sent up to that one (a node that skips a
// write has still made it visible).
func watchWrites(ctx context.Context, c *Client, node int, base, service string, events chan<- writeSeen, errs chan<- error) {
	report := func(err error) {
		select {
		case errs <- err:
		default:
		}
	}
	nd, err := c.node(base)
	if err != nil {
		report(err)
		return
	}
	q := client.Query{Service: client.Service{Namespace: Namespace, Name: service}}
	var index uint64
	next := 0 // the first write not yet reported
	for ctx.Err() == nil {
		list, err := nd.ListAfter(ctx, q, index, 5*time.Second)
		at := time.Now()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			report(err)
			time.Sleep(50 * time.Millisecond) // a failing node: do not spin
			continue
		}
		index = list.Index
		for _, in := range list.Instances {
			k, err := strconv.Atoi(in.Metadata[visibleKey])
			for ; err == nil && next <= k; next++ {
				select {
				case events <- writeSeen{node: node, write: next, at: at}:
				case <-ctx.Done():
					return
				}
			}
		}
	}
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
