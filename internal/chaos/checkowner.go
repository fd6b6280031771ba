package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/roster-io/roster/internal/agentproc"
	"github.com/roster-io/roster/internal/await"
)

// The checkowner scenario: server-side health checks while their checker
// dies. Persistent instances on 127.0.0.1 point at ports the harness
// opens and closes (the truth), and the owners of their services check
// them (TCP, every 1 s, 3 failures or successes to flip). A third of the
// way in, the owner of the first service is SIGKILLed; two thirds in it
// comes back under the same name (so ownership moves away and back).
// Every node's list and its answer to who owns each service are polled
// every 200 ms; a poll that shows an instance's health other than the
// truth, longer than settleBound after the later of the port's last flip
// and the last change of the service's owner, is a violation (from the
// owner's SIGKILL until a node names a new one nothing is checked: that
// is failure detection, reported as the slowest takeover), and so is any
// instance whose health is stale on any node once the flips stop and the
// bound has passed.

const (
	checkInterval  = time.Second
	checkServices  = 4
	checkThreshold = 3 // the checker's default failures and successes
)

// settleBound is how long a new owner, or the owner after a port
// flipped, has to show the truth on every node: one rescan (1 s), the
// checks (interval ±20%, threshold of them, after a first check up to an
// interval late) and a margin.
const settleBound = time.Second + checkInterval*6/5*(checkThreshold+1) + 2*time.Second

// checkBound is how long after a port flips every node must show it,
// failure detection of a killed owner included: what the flips are
// spaced by.
func checkBound(b Bounds) time.Duration { return b.FailureDetection + settleBound }

// port is one checked instance's port and its truth.
type port struct {
	mu    sync.Mutex // guards the fields below
	num   int
	ln    net.Listener // nil while closed
	flips []flip
	wg    sync.WaitGroup
}

type flip struct {
	t    time.Time
	open bool
}

// set opens or closes the port and records when.
func (p *port) set(open bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if open == (p.ln != nil) {
		return nil
	}
	if !open {
		p.ln.Close()
		p.ln = nil
		p.flips = append(p.flips, flip{time.Now(), false})
		return nil
	}
	addr := "127.0.0.1:" + strconv.Itoa(p.num)
	if p.num == 0 {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("chaos: checkowner: reopen %s: %w", addr, err)
	}
	p.num, p.ln = ln.Addr().(*net.TCPAddr).Port, ln
	p.flips = append(p.flips, flip{time.Now(), true})
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	})
	return nil
}

// truth says whether the port was open at t, and since when it was so.
func (p *port) truth(t time.Time) (bool, time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	open, since := false, time.Time{}
	for _, f := range p.flips {
		if f.t.After(t) {
			break
		}
		open, since = f.open, f.t
	}
	return open, since
}

func (p *port) close() {
	p.mu.Lock()
	if p.ln != nil {
		p.ln.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// healthPoll is one node's list of one service.
type healthPoll struct {
	node            string
	svc             int
	sent, answered  time.Time
	healthy, listed map[int]bool // by port
}

// runCheckOwner runs the checkowner scenario.
func runCheckOwner(ctx context.Context, name string, cfg Config) Summary {
	sum := Summary{Scenario: name, Seed: cfg.Seed, Nodes: cfg.Nodes}
	fail := func(err error) Summary {
		sum.Result = Result{Violations: []Violation{{Invariant: "harness", T: time.Now(), Detail: err.Error()}}}
		return sum
	}
	logDir := ""
	if cfg.LogDir != "" {
		logDir = filepath.Join(cfg.LogDir, name)
		if err := os.MkdirAll(logDir, 0o755); err != nil {
			return fail(err)
		}
	}
	h := NewHistory()
	c := agentproc.NewCluster(agentproc.ClusterConfig{Bin: cfg.Bin, LogDir: logDir, StopWithin: 10 * time.Second,
		Args: append(agentArgs(cfg.LogLevel, logDir != "", false), "--health-check-interval", checkInterval.String(),
			"--health-check-timeout", (checkInterval / 2).String()),
		Events: func(e agentproc.Event) { record(h, e) }})
	defer c.Shutdown(syscall.SIGKILL)
	var names []string
	for i := 1; i <= cfg.Nodes; i++ {
		names = append(names, fmt.Sprintf("n%d", i))
	}
	if err := startAll(ctx, c, names); err != nil {
		return fail(err)
	}
	ports := make([]*port, min(max(cfg.Instances/10, 12), 40))
	sum.Instances = len(ports)
	for i := range ports {
		ports[i] = &port{}
		if err := ports[i].set(true); err != nil {
			return fail(err)
		}
		defer ports[i].close()
	}
	if err := checkSetup(c, ports); err != nil {
		return fail(err)
	}
	bound := checkBound(cfg.Bounds)
	var polls []healthPoll
	var pollMu sync.Mutex
	owners := &ownerLog{last: map[[2]string]string{}, changes: map[int][]ownerObs{}}
	pollCtx, stopPolls := context.WithCancel(ctx)
	var bg sync.WaitGroup
	bg.Go(func() {
		for pollCtx.Err() == nil {
			for _, p := range c.Live() {
				for s := range checkServices {
					owners.poll(p, s)
					if hp, ok := pollHealth(p, s); ok {
						pollMu.Lock()
						polls = append(polls, hp)
						pollMu.Unlock()
					}
				}
			}
			sleepCtx(pollCtx, 200*time.Millisecond)
		}
	})
	rng := rand.New(rand.NewPCG(cfg.Seed, 9))
	start := time.Now()
	flipCtx, stopFlips := context.WithTimeout(ctx, cfg.Duration)
	flipSeed := rng.Uint64()
	bg.Go(func() { flipPorts(flipCtx, ports, bound, flipSeed) })
	down, err := killCheckOwner(flipCtx, c, start, cfg.Duration)
	sum.Faults = down
	<-flipCtx.Done()
	stopFlips()
	if err == nil {
		err = c.WaitReady(ctx, 60*time.Second)
	}
	sleepCtx(ctx, settleBound+2*time.Second) // every node must show the truth by then
	stopPolls()
	bg.Wait()
	sum.Acked = len(ports) + checkServices // the registrations and settings
	sum.Result = checkHealth(polls, ports, h, owners)
	sum.Result.Violations = append(sum.Result.Violations, findingViolations(h)...)
	if err != nil {
		sum.Result.Violations = append(sum.Result.Violations, Violation{Invariant: "harness", T: time.Now(), Detail: err.Error()})
	}
	return sum
}

func checkService(s int) string { return fmt.Sprintf("checkowner-%02d", s) }

// checkSetup registers one persistent instance per port, over the
// services, sets their clusters to TCP checks, and waits until every node
// lists them all healthy.
func checkSetup(c *agentproc.Cluster, ports []*port) error {
	live := c.Live()
	for i, p := range ports {
		v := url.Values{"serviceName": {checkService(i % checkServices)}, "ip": {"127.0.0.1"}, "port": {strconv.Itoa(p.num)}, "ephemeral": {"false"}}
		if code, body, err := do(http.MethodPost, live[i%len(live)].HTTP, "/nacos/v1/ns/instance", v, nil, 5*time.Second); code != 200 {
			return fmt.Errorf("chaos: checkowner: register: %d %s %v", code, body, err)
		}
	}
	for s := range checkServices {
		hc := url.Values{"serviceName": {checkService(s)}, "clusterName": {"DEFAULT"}, "checkPort": {"0"},
			"useInstancePort4Check": {"true"}, "healthChecker": {`{"type":"TCP"}`}}
		if code, body, err := do(http.MethodPut, live[s%len(live)].HTTP, "/nacos/v1/ns/cluster", hc, nil, 5*time.Second); code != 200 {
			return fmt.Errorf("chaos: checkowner: cluster settings: %d %s %v", code, body, err)
		}
	}
	_, err := await.Until(context.Background(), 200*time.Millisecond, 20*time.Second, func() bool {
		for _, p := range live {
			for s := range checkServices {
				hp, ok := pollHealth(p, s)
				if !ok {
					return false
				}
				for i := s; i < len(ports); i += checkServices {
					if !hp.healthy[ports[i].num] {
						return false
					}
				}
			}
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("chaos: checkowner: the instances are not all listed healthy on every node: %w", err)
	}
	return nil
}

// pollHealth lists service s on p through the native API, which shows
// each instance's own health (the Nacos list shows every instance
// healthy when none is, under the protect threshold).
func pollHealth(p *agentproc.Proc, s int) (healthPoll, bool) {
	hp := healthPoll{node: p.Name, svc: s, sent: time.Now(), healthy: map[int]bool{}, listed: map[int]bool{}}
	code, body, err := do(http.MethodGet, p.HTTP, "/v1/instances", url.Values{"service": {checkService(s)}}, nil, time.Second)
	hp.answered = time.Now()
	var l struct {
		Instances []struct {
			Port    int   `json:"port"`
			Healthy *bool `json:"healthy"`
		} `json:"instances"`
	}
	if code != 200 || err != nil || json.Unmarshal(body, &l) != nil {
		return hp, false
	}
	for _, in := range l.Instances {
		hp.listed[in.Port], hp.healthy[in.Port] = true, in.Healthy != nil && *in.Healthy
	}
	return hp, true
}

// flipPorts closes and reopens ports until ctx ends: each keeps its state
// for between 1.2 and 2 bounds, so that every state lasts long enough to
// be checked.
func flipPorts(ctx context.Context, ports []*port, bound time.Duration, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 10))
	hold := func() time.Duration { return bound*6/5 + time.Duration(rng.Int64N(int64(bound*4/5))) }
	next := make([]time.Time, len(ports))
	for i := range next {
		next[i] = time.Now().Add(time.Second + time.Duration(rng.Int64N(int64(bound*2))))
	}
	for sleepCtx(ctx, 100*time.Millisecond) {
		for i, p := range ports {
			if time.Now().Before(next[i]) {
				continue
			}
			open, _ := p.truth(time.Now())
			if err := p.set(!open); err != nil {
				continue // the port was taken meanwhile: try again later
			}
			next[i] = time.Now().Add(hold())
		}
	}
}

// killCheckOwner SIGKILLs the owner of the first service a third of the
// way through and starts it again two thirds through; it returns the
// nodes it killed.
func killCheckOwner(ctx context.Context, c *agentproc.Cluster, start time.Time, d time.Duration) (int, error) {
	if !sleepCtx(ctx, time.Until(start.Add(d/3))) {
		return 0, nil
	}
	live := c.Live()
	_, body, err := do(http.MethodGet, live[0].HTTP, "/v1/cluster/owner", url.Values{"service": {checkService(0)}}, nil, 2*time.Second)
	var o struct {
		Owner string `json:"owner"`
	}
	if err != nil || json.Unmarshal(body, &o) != nil || c.Get(o.Owner) == nil {
		return 0, fmt.Errorf("chaos: checkowner: no owner of %s: %s %v", checkService(0), body, err)
	}
	if err := c.Kill(o.Owner); err != nil {
		return 0, err
	}
	if !sleepCtx(ctx, time.Until(start.Add(2*d/3))) {
		// The run is ending: bring the node back all the same.
		_, err := c.Start(context.Background(), o.Owner, "", "")
		return 1, err
	}
	_, err = c.Start(context.Background(), o.Owner, "", "")
	return 1, err
}

// checkHealth holds the polls to the truth: a poll showing a health the
// port did not have at any moment of the poll is a violation when it
// comes more than settleBound after the later of the port's last flip
// and the last change of its service's owner; so is a checked instance
// not listed. A service whose owner was SIGKILLed is not checked until a
// node names a new owner (failure detection; the slowest is reported),
// and polls of a node from its SIGKILL until it is ready again do not
// count.
func checkHealth(polls []healthPoll, ports []*port, h *History, owners *ownerLog) Result {
	var res Result
	down := downSpans(h)
	orphaned := orphanSpans(h, owners, &res)
	worst := time.Duration(0)
	for _, hp := range polls {
		if down.covers(hp.node, hp.sent) || orphaned.covers(checkService(hp.svc), hp.sent) {
			continue
		}
		res.Checked++
		changed, _ := owners.since(hp.svc, hp.sent)
		for i := hp.svc; i < len(ports); i += checkServices {
			p := ports[i]
			was, since := p.truth(hp.sent)
			now, _ := p.truth(hp.answered)
			shown, listed := hp.healthy[p.num], hp.listed[p.num]
			if listed && (shown == was || shown == now) {
				continue
			}
			from := since
			if changed.After(from) {
				from = changed
			}
			late := hp.sent.Sub(from)
			worst = max(worst, late)
			if late <= settleBound {
				continue
			}
			detail := fmt.Sprintf("port %d shown healthy=%v (listed %v) %.1fs after it became open=%v or its service's owner last changed (bound %v)",
				p.num, shown, listed, late.Seconds(), was, settleBound)
			if len(res.Violations) < 10 {
				res.Violations = append(res.Violations, Violation{Invariant: "check-health", T: hp.sent, Node: hp.node,
					Inst: checkService(hp.svc) + "/127.0.0.1:" + strconv.Itoa(p.num), Detail: detail, Excerpt: flipsOf(p)})
			}
		}
	}
	res.WorstConvergence = worst
	return res
}

// orphanSpans are, by service, the stretches from the SIGKILL of its
// owner until a node names another; the longest is res.SlowestTakeover.
func orphanSpans(h *History, owners *ownerLog, res *Result) spans {
	out := spans{}
	for _, e := range h.snapshot().events {
		if e.Kind != EvKill {
			continue
		}
		for s := range checkServices {
			if _, owner := owners.since(s, e.T); owner != e.Node {
				continue
			}
			end, ok := owners.after(s, e.T)
			if !ok {
				end = time.Now()
			}
			out[checkService(s)] = append(out[checkService(s)], span{e.T, end})
			res.SlowestTakeover = max(res.SlowestTakeover, end.Sub(e.T))
		}
	}
	return out
}

// flipsOf is a port's flips, for an excerpt.
func flipsOf(p *port) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, f := range p.flips {
		out = append(out, fmt.Sprintf("%s open=%v", f.t.Format("15:04:05.000"), f.open))
	}
	return out
}

// spans are, by node, the stretches from a SIGKILL until ready again.
type spans map[string][]span

func (s spans) covers(node string, t time.Time) bool {
	return slices.ContainsFunc(s[node], func(sp span) bool { return sp.covers(t, t) })
}

func downSpans(h *History) spans {
	out := spans{}
	snap := h.snapshot()
	open := map[string]time.Time{}
	for _, e := range snap.events {
		switch e.Kind {
		case EvKill, EvTerm:
			open[e.Node] = e.T
		case EvReady:
			if t, ok := open[e.Node]; ok {
				out[e.Node] = append(out[e.Node], span{t, e.T})
				delete(open, e.Node)
			}
		}
	}
	for n, t := range open {
		out[n] = append(out[n], span{t, time.Now()})
	}
	return out
}
