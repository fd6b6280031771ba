package bench

// The lag mode writes on the first node and watches every other node with
// blocking queries (GET /v1/instances?index=N&wait=…). Writes go one at a
// time: write k registers a new instance, and the next write starts when
// every watcher has seen it (or after a timeout). The lag of a write on a
// node is the time from just before the client sent the POST until that
// node's blocking query returned a list holding the new instance, so it
// includes the write's own round trip, as a client would see it.

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/roster-io/roster/client"
)

// LagConfig configures the lag mode.
type LagConfig struct {
	Writes int
	// Gap is the pause between one write being seen everywhere and the
	// next. Default 5ms.
	Gap time.Duration
	// SeenWithin caps the wait for one write to reach every watcher.
	// Default 2s.
	SeenWithin time.Duration
}

// seenEvent reports that watcher node saw ip at.
type seenEvent struct {
	node int
	ip   string
	at   time.Time
}

// watchService follows service on base with blocking queries and sends an
// event the first time each instance IP shows up, until ctx ends.
func watchService(ctx context.Context, c *Client, node int, base, service string, events chan<- seenEvent, errs chan<- error) {
	nd, err := c.node(base)
	if err != nil {
		select {
		case errs <- err:
		default:
		}
		return
	}
	q := client.Query{Service: client.Service{Namespace: Namespace, Name: service}}
	seen := map[string]bool{}
	var index uint64
	for ctx.Err() == nil {
		list, err := nd.ListAfter(ctx, q, index, 5*time.Second)
		at := time.Now()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			select {
			case errs <- err:
			default:
			}
			time.Sleep(50 * time.Millisecond) // a failing node: do not spin
			continue
		}
		index = list.Index
		for _, in := range list.Instances {
			if !seen[in.IP] {
				seen[in.IP] = true
				select {
				case events <- seenEvent{node: node, ip: in.IP, at: at}:
				case <-ctx.Done():
					return
				}
			}
		}
	}
}

// Lag runs the lag mode.
func Lag(ctx context.Context, env *Env, cfg LagConfig) (*Report, error) {
	if cfg.Writes <= 0 {
		return nil, fmt.Errorf("bench: lag: need writes > 0")
	}
	if cfg.Gap <= 0 {
		cfg.Gap = 5 * time.Millisecond
	}
	if cfg.SeenWithin <= 0 {
		cfg.SeenWithin = 2 * time.Second
	}
	started := time.Now()
	addrs := env.Client.Addrs
	writer, watched := addrs[0], addrs[1:]
	r := &Report{Mode: "lag", Params: env.params()}
	if len(watched) == 0 {
		watched = addrs
		r.Notef("one node only: the writer watches itself")
	}
	r.Params["writes"] = strconv.Itoa(cfg.Writes)
	r.Params["watchers"] = strconv.Itoa(len(watched))
	service := "bench-lag-" + runID()

	register := func(i int) error {
		return env.Client.Form(ctx, http.MethodPost, writer, "/nacos/v1/ns/instance", registerForm(service, i, false, longLived))
	}
	// Instance 0 creates the service, so every watcher has an index to
	// block on before the measured writes.
	if err := register(0); err != nil {
		return nil, fmt.Errorf("bench: lag: %w", err)
	}
	wctx, stop := context.WithCancel(ctx)
	events := make(chan seenEvent, 1024)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for i, a := range watched {
		wg.Add(1)
		go func() { defer wg.Done(); watchService(wctx, env.Client, i, a, service, events, errs) }()
	}
	defer func() { stop(); wg.Wait() }()

	seenBy := map[string]int{} // ip → watchers that saw it
	var lastErr error
	// await collects events until every watcher saw ip or within passes.
	await := func(ip string, within time.Duration, onSeen func(seenEvent)) bool {
		timer := time.NewTimer(within)
		defer timer.Stop()
		for seenBy[ip] < len(watched) {
			select {
			case ev := <-events:
				seenBy[ev.ip]++
				if onSeen != nil {
					onSeen(ev)
				}
			case err := <-errs:
				lastErr = err
			case <-timer.C:
				return false
			case <-ctx.Done():
				return false
			}
		}
		return true
	}
	if !await(instanceIP(0), 10*time.Second, nil) {
		return nil, fmt.Errorf("bench: lag: watchers did not see the first instance within 10s (last error: %v)", lastErr)
	}

	var lags, fromAck Latencies
	missed, failed := 0, 0
	deadline := time.Now().Add(max(env.Duration, time.Second) * 6) // hard cap
	for k := 1; k <= cfg.Writes && ctx.Err() == nil && time.Now().Before(deadline); k++ {
		ip := instanceIP(k)
		sent := time.Now()
		if err := register(k); err != nil {
			failed++
			lastErr = err
			continue
		}
		acked := time.Now()
		ok := await(ip, cfg.SeenWithin, func(ev seenEvent) {
			if ev.ip == ip {
				lags = append(lags, ev.at.Sub(sent))
				fromAck = append(fromAck, max(ev.at.Sub(acked), 0))
			}
		})
		if !ok {
			missed++
		}
		time.Sleep(cfg.Gap)
	}
	lags, fromAck = NewLatencies(lags), NewLatencies(fromAck)
	r.Add("observations", float64(len(lags)), UnitCount)
	r.AddMs("lag p50", lags.Percentile(0.50))
	r.AddMs("lag p99", lags.Percentile(0.99))
	r.AddMs("lag max", lags.Max())
	r.AddMs("after ack p50", fromAck.Percentile(0.50))
	r.AddMs("after ack p99", fromAck.Percentile(0.99))
	r.Add("writes not seen everywhere in time", float64(missed), UnitCount)
	r.Add("write errors", float64(failed), UnitCount)
	if lastErr != nil {
		r.Notef("last error: %v", lastErr)
	}
	if len(lags) == 0 {
		return finish(r, started), fmt.Errorf("bench: lag: nothing observed (last error: %v)", lastErr)
	}
	return finish(r, started), nil
}
