package bench

// What the scale mode reads from every agent: the traffic counters of
// its /metrics page (gossip and peer bytes, suspicions, anti-entropy
// exchanges) and, from /proc/<pid>, its CPU time and resident memory.

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/roster-io/roster/internal/agentproc"
	"github.com/roster-io/roster/peer"
)

// The counters the scale mode reads, as indexes of nodeCounters.v.
const (
	cGossipSent = iota
	cGossipRecv
	cPeerSent
	cPeerRecv
	cSuspicions
	cRefutes
	cAEExchanges
	cRecordsSent                             // replication records pushed to peers
	cBeatsIn                                 // client beats received
	cHandedOff                               // of those, handed on to the owner
	cPingBytes                               // bytes of the stream pings written
	cReq                                     // + peer.Kind: requests sent, by kind
	cBody        = cReq + int(peer.NumKinds) // + peer.Kind: body bytes, by kind
	nCounter     = cBody + int(peer.NumKinds)
)

// nodeCounters are one agent's counters at one moment.
type nodeCounters struct {
	v   [nCounter]float64
	cpu time.Duration
	// owed is the gauge roster_heard_reports_owed (members not yet
	// holding the node's current last-heard report); -1 when the agent
	// does not export it (an older build).
	owed float64
}

// sub returns c - o.
func (c nodeCounters) sub(o nodeCounters) nodeCounters {
	for i := range c.v {
		c.v[i] -= o.v[i]
	}
	c.cpu -= o.cpu
	return c
}

// add returns c + o.
func (c nodeCounters) add(o nodeCounters) nodeCounters {
	for i := range c.v {
		c.v[i] += o.v[i]
	}
	c.cpu += o.cpu
	return c
}

// metricKeys maps the /metrics series the scale mode reads to the index
// of their counter; the anti-entropy results all add to one.
var metricKeys = func() map[string]int {
	m := map[string]int{
		`roster_gossip_bytes_total{direction="sent"}`:           cGossipSent,
		`roster_gossip_bytes_total{direction="received"}`:       cGossipRecv,
		`roster_peer_bytes_total{direction="sent"}`:             cPeerSent,
		`roster_peer_bytes_total{direction="received"}`:         cPeerRecv,
		`roster_gossip_suspicions_total`:                        cSuspicions,
		`roster_gossip_refutations_total`:                       cRefutes,
		`roster_antientropy_exchanges_total{result="equal"}`:    cAEExchanges,
		`roster_antientropy_exchanges_total{result="repaired"}`: cAEExchanges,
		`roster_antientropy_exchanges_total{result="failed"}`:   cAEExchanges,
		`roster_replication_records_sent_total`:                 cRecordsSent,
		`roster_beats_received_total`:                           cBeatsIn,
		`roster_beats_handed_off_total`:                         cHandedOff,
		pingKey:                                                 cPingBytes,
	}
	for k := range peer.NumKinds {
		m[`roster_peer_requests_total{kind="`+k.String()+`"}`] = cReq + int(k)
		m[`roster_peer_body_bytes_total{kind="`+k.String()+`"}`] = cBody + int(k)
	}
	return m
}()

// pingKey is the counter of stream ping bytes; builds before it lack it
// and count 0.
const pingKey = "roster_peer_stream_ping_bytes_total"

// owedKey is the gauge of the members a node owes its current
// last-heard report; read when present (builds before it lack it).
const owedKey = "roster_heard_reports_owed"

// parseCounters reads the series of metricKeys from a Prometheus text
// page; it fails if a byte counter is missing (an agent without them).
func parseCounters(r io.Reader) (nodeCounters, error) {
	c := nodeCounters{owed: -1}
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
		idx, ok := metricKeys[line[:i]]
		if !ok && line[:i] != owedKey {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			return c, fmt.Errorf("bench: scale: metric %q: %w", line, err)
		}
		if !ok {
			c.owed = v
			continue
		}
		c.v[idx] += v
		if line[:i] != pingKey {
			seen++
		}
	}
	if err := sc.Err(); err != nil {
		return c, fmt.Errorf("bench: scale: read metrics: %w", err)
	}
	if seen < len(metricKeys)-1 { // all but pingKey
		return c, fmt.Errorf("bench: scale: the agent's /metrics lacks the gossip and peer byte counters (%d of %d series)", seen, len(metricKeys))
	}
	return c, nil
}

// scrapeTimeout bounds one scrape: under the load, N agents on two
// cores may leave one without a CPU for many seconds.
const scrapeTimeout = 30 * time.Second

// scrape reads p's counters: /metrics and its CPU time.
func scrape(ctx context.Context, hc *http.Client, p *agentproc.Proc) (nodeCounters, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL()+"/metrics", nil)
	if err != nil {
		return nodeCounters{}, fmt.Errorf("bench: scale: %w", err)
	}
	patient := *hc
	patient.Timeout = scrapeTimeout
	resp, err := patient.Do(req)
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
	out, errs := scrapeEach(ctx, hc, procs)
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// scrapeEach is scrapeAll with each process's error apart.
func scrapeEach(ctx context.Context, hc *http.Client, procs []*agentproc.Proc) ([]nodeCounters, []error) {
	out := make([]nodeCounters, len(procs))
	errs := make([]error, len(procs))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, p := range procs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			for try := 0; try < 5; try++ { // a node busy for a moment
				if out[i], errs[i] = scrape(ctx, hc, p); errs[i] == nil || ctx.Err() != nil {
					return
				}
				time.Sleep(time.Duration(try+1) * 200 * time.Millisecond)
			}
		})
	}
	wg.Wait()
	return out, errs
}

// window is what a set of processes did between two scrapes.
type window struct {
	nodes   int
	seconds float64
	sum     nodeCounters // over every node that answered both scrapes
	// missed is how many nodes did not answer a scrape (five tries of
	// scrapeTimeout): they are left out of sum and nodes.
	missed int
}

// measure scrapes procs, waits d (or until ctx ends) and scrapes again.
// A node that answers neither scrape in time (N agents on two cores
// under load leave some without a CPU for minutes) is left out and
// counted in missed; more than half missing fails the window.
func measure(ctx context.Context, hc *http.Client, procs []*agentproc.Proc, d time.Duration) (window, error) {
	before, errs0 := scrapeEach(ctx, hc, procs)
	t0 := time.Now()
	select {
	case <-ctx.Done():
		return window{}, ctx.Err()
	case <-time.After(d):
	}
	after, errs1 := scrapeEach(ctx, hc, procs)
	w := window{seconds: time.Since(t0).Seconds()}
	var first error
	for i := range procs {
		if err := cmp.Or(errs0[i], errs1[i]); err != nil {
			first = cmp.Or(first, err)
			w.missed++
			continue
		}
		w.nodes++
		w.sum = w.sum.add(after[i].sub(before[i]))
	}
	if w.nodes < (len(procs)+1)/2 {
		return window{}, fmt.Errorf("%d of %d nodes did not answer (first: %w)", w.missed, len(procs), first)
	}
	return w, nil
}

// The per-node rates of a window. A node's traffic is what it sends: its
// gossip packets and streams, and both directions of the peer connections
// it dialed (each counted once, by the dialer); what it receives is the
// same on average over the cluster.
func (w window) perNodeRate(bytes float64) float64 { return bytes / float64(w.nodes) / w.seconds }
func (w window) gossipPerNode() float64            { return w.perNodeRate(w.sum.v[cGossipSent]) }
func (w window) peerPerNode() float64 {
	return w.perNodeRate(w.sum.v[cPeerSent] + w.sum.v[cPeerRecv])
}
func (w window) bytesPerNode() float64 { return w.gossipPerNode() + w.peerPerNode() }
func (w window) cpuPerNode() float64 {
	return w.sum.cpu.Seconds() / float64(w.nodes) / w.seconds
}

// kindBytes is the wire bytes of the peer requests of kind k: their
// bodies plus their share of the HTTP framing (the connections' bytes
// beyond all bodies, split evenly over the requests).
func (w window) kindBytes(k peer.Kind) float64 {
	var reqs, bodies float64
	for j := range peer.NumKinds {
		reqs += w.sum.v[cReq+int(j)]
		bodies += w.sum.v[cBody+int(j)]
	}
	framing := 0.0
	if reqs > 0 {
		framing = max(w.sum.v[cPeerSent]+w.sum.v[cPeerRecv]-bodies, 0) / reqs
	}
	return w.sum.v[cBody+int(k)] + w.sum.v[cReq+int(k)]*framing
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
