package bench

// What the scale mode reads from every agent: the traffic counters of
// its /metrics page (gossip and peer bytes, suspicions, anti-entropy
// exchanges) and, from /proc/<pid>, its CPU time and resident memory.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/roster-io/roster/internal/agentproc"
)

// nodeCounters are one agent's counters at one moment.
type nodeCounters struct {
	gossipSent, gossipRecv float64
	peerSent, peerRecv     float64
	suspicions, refutes    float64
	aeExchanges            float64
	cpu                    time.Duration
}

// sub returns c - o.
func (c nodeCounters) sub(o nodeCounters) nodeCounters {
	return nodeCounters{gossipSent: c.gossipSent - o.gossipSent, gossipRecv: c.gossipRecv - o.gossipRecv,
		peerSent: c.peerSent - o.peerSent, peerRecv: c.peerRecv - o.peerRecv,
		suspicions: c.suspicions - o.suspicions, refutes: c.refutes - o.refutes,
		aeExchanges: c.aeExchanges - o.aeExchanges, cpu: c.cpu - o.cpu}
}

// add returns c + o.
func (c nodeCounters) add(o nodeCounters) nodeCounters {
	return nodeCounters{gossipSent: c.gossipSent + o.gossipSent, gossipRecv: c.gossipRecv + o.gossipRecv,
		peerSent: c.peerSent + o.peerSent, peerRecv: c.peerRecv + o.peerRecv,
		suspicions: c.suspicions + o.suspicions, refutes: c.refutes + o.refutes,
		aeExchanges: c.aeExchanges + o.aeExchanges, cpu: c.cpu + o.cpu}
}

// metricKeys maps the /metrics series the scale mode reads to a setter.
var metricKeys = map[string]func(c *nodeCounters, v float64){
	`roster_gossip_bytes_total{direction="sent"}`:           func(c *nodeCounters, v float64) { c.gossipSent = v },
	`roster_gossip_bytes_total{direction="received"}`:       func(c *nodeCounters, v float64) { c.gossipRecv = v },
	`roster_peer_bytes_total{direction="sent"}`:             func(c *nodeCounters, v float64) { c.peerSent = v },
	`roster_peer_bytes_total{direction="received"}`:         func(c *nodeCounters, v float64) { c.peerRecv = v },
	`roster_gossip_suspicions_total`:                        func(c *nodeCounters, v float64) { c.suspicions = v },
	`roster_gossip_refutations_total`:                       func(c *nodeCounters, v float64) { c.refutes = v },
	`roster_antientropy_exchanges_total{result="equal"}`:    func(c *nodeCounters, v float64) { c.aeExchanges += v },
	`roster_antientropy_exchanges_total{result="repaired"}`: func(c *nodeCounters, v float64) { c.aeExchanges += v },
	`roster_antientropy_exchanges_total{result="failed"}`:   func(c *nodeCounters, v float64) { c.aeExchanges += v },
}

// parseCounters reads the series of metricKeys from a Prometheus text
// page; it fails if a byte counter is missing (an agent without them).
func parseCounters(r io.Reader) (nodeCounters, error) {
	var c nodeCounters
	seen := 0
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		set, ok := metricKeys[line[:i]]
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			return c, fmt.Errorf("bench: scale: metric %q: %w", line, err)
		}
		set(&c, v)
		seen++
	}
	if err := sc.Err(); err != nil {
		return c, fmt.Errorf("bench: scale: read metrics: %w", err)
	}
	if seen < 6 {
		return c, fmt.Errorf("bench: scale: the agent's /metrics lacks the gossip and peer byte counters (%d of %d series)", seen, len(metricKeys))
	}
	return c, nil
}

// scrape reads p's counters: /metrics and its CPU time.
func scrape(ctx context.Context, hc *http.Client, p *agentproc.Proc) (nodeCounters, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL()+"/metrics", nil)
	if err != nil {
		return nodeCounters{}, fmt.Errorf("bench: scale: %w", err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nodeCounters{}, fmt.Errorf("bench: scale: metrics of %s: %w", p.Name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nodeCounters{}, fmt.Errorf("bench: scale: metrics of %s: %s", p.Name, resp.Status)
	}
	c, err := parseCounters(resp.Body)
	if err != nil {
		return c, fmt.Errorf("%w (%s)", err, p.Name)
	}
	if c.cpu, err = cpuTime(p.PID()); err != nil {
		return c, err
	}
	return c, nil
}

// scrapeAll reads the counters of every process, in parallel (a few at a
// time, so that the scrape barely disturbs what it measures).
func scrapeAll(ctx context.Context, hc *http.Client, procs []*agentproc.Proc) ([]nodeCounters, error) {
	out := make([]nodeCounters, len(procs))
	errs := make([]error, len(procs))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, p := range procs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i], errs[i] = scrape(ctx, hc, p)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// window is what a set of processes did between two scrapes.
type window struct {
	nodes   int
	seconds float64
	sum     nodeCounters // over every node
}

// measure scrapes procs, waits d (or until ctx ends) and scrapes again.
func measure(ctx context.Context, hc *http.Client, procs []*agentproc.Proc, d time.Duration) (window, error) {
	before, err := scrapeAll(ctx, hc, procs)
	if err != nil {
		return window{}, err
	}
	t0 := time.Now()
	select {
	case <-ctx.Done():
		return window{}, ctx.Err()
	case <-time.After(d):
	}
	after, err := scrapeAll(ctx, hc, procs)
	if err != nil {
		return window{}, err
	}
	w := window{nodes: len(procs), seconds: time.Since(t0).Seconds()}
	for i := range procs {
		w.sum = w.sum.add(after[i].sub(before[i]))
	}
	return w, nil
}

// The per-node rates of a window. A node's traffic is what it sends: its
// gossip packets and streams, and both directions of the peer connections
// it dialed (each counted once, by the dialer); what it receives is the
// same on average over the cluster.
func (w window) gossipPerNode() float64 { return w.sum.gossipSent / float64(w.nodes) / w.seconds }
func (w window) peerPerNode() float64 {
	return (w.sum.peerSent + w.sum.peerRecv) / float64(w.nodes) / w.seconds
}
func (w window) bytesPerNode() float64 { return w.gossipPerNode() + w.peerPerNode() }
func (w window) cpuPerNode() float64 {
	return w.sum.cpu.Seconds() / float64(w.nodes) / w.seconds
}

// meanRSSMB is the mean resident memory of procs in MiB.
func meanRSSMB(procs []*agentproc.Proc) (float64, error) {
	var sum int64
	for _, p := range procs {
		v, err := rssBytes(p.PID())
		if err != nil {
			return 0, err
		}
		sum += v
	}
	return float64(sum) / float64(len(procs)) / (1 << 20), nil
}
