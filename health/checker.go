// Package health checks the health of persistent instances from the
// server side, with Nacos' semantics: each cluster of a service has a
// checker (TCP, the default; HTTP; or NONE, which leaves health to the
// API), and only the owner of a service (node.Node.Owns) checks its
// persistent instances, so each instance has exactly one checker in the
// cluster. An instance turns unhealthy after Failures consecutive failed
// checks and healthy again after Successes consecutive good ones; each
// verdict that changes its health is a replicated write.
//
// Cost is bounded: one scheduler goroutine keeps the targets in a heap
// ordered by their next check; it makes TCP checks itself with
// non-blocking system calls, and hands a handshake that does not end at
// once to one poller goroutine (poller_linux.go); a fixed pool of
// Workers runs HTTP checks. There is no goroutine per instance or per
// check. The scheduler rescans the services
// it owns every Rescan, so a new owner starts checking within one
// Rescan plus one Interval, and it checks ownership again before every
// probe and before writing a verdict, so a node that loses a service
// stops checking it at once.
package health

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roster-io/roster/store"
)

// Core is what the checker needs of the node.
type Core interface {
	// Owns reports whether this node checks service k.
	Owns(k store.Key) bool
	// Ownership changes (==) whenever what Owns answers may have.
	Ownership() any
	// Store is the registry, read through snapshots.
	Store() *store.Store
	// CheckedHealth writes a verdict that changes an instance's health.
	CheckedHealth(k store.Key, ik store.InstanceKey, healthy bool) (bool, error)
}

// Config configures a Checker. Every field has a default.
type Config struct {
	// Interval is the mean time between two checks of one instance; each
	// wait is drawn within ±20% of it. Default 5s.
	Interval time.Duration
	// Timeout bounds one check. Default 2s.
	Timeout time.Duration
	// Failures is how many consecutive failed checks make a healthy
	// instance unhealthy. Default 3 (Nacos' checkTimes).
	Failures int
	// Successes is how many consecutive good checks make an unhealthy
	// instance healthy. Default 3.
	Successes int
	// Workers is the number of HTTP checks (and, off Linux, TCP checks)
	// run at once. Default 32.
	Workers int
	// Rescan is how often the owned services are scanned for targets.
	// Default 1s.
	Rescan time.Duration
	// Allow, if not empty, lists the networks checks may connect to; an
	// instance elsewhere is not checked (and keeps its health).
	Allow []netip.Prefix
	// Logger receives the checker's logs. Default slog.Default().
	Logger *slog.Logger
	// Dialer, if set, makes the connections of checks in place of the
	// built-in TCP check (tcpCheck) and the HTTP checks' own dialer; ctx
	// carries the check's timeout and ends when the checker stops. Tests
	// set it.
	Dialer func(ctx context.Context, network, addr string) (net.Conn, error)
}

// DefaultConfig returns a Config with every field set.
func DefaultConfig() Config {
	return Config{Interval: 5 * time.Second, Timeout: 2 * time.Second, Failures: 3, Successes: 3, Workers: 32,
		Rescan: time.Second}
}

// Validate reports the first invalid field.
func (c *Config) Validate() error {
	switch {
	case c.Interval < 10*time.Millisecond:
		return fmt.Errorf("health: config: interval %v must be at least 10ms", c.Interval)
	case c.Timeout <= 0 || c.Timeout > c.Interval:
		return fmt.Errorf("health: config: timeout %v must be positive and at most the interval %v", c.Timeout, c.Interval)
	case c.Failures < 1 || c.Successes < 1:
		return errors.New("health: config: failures and successes must be at least 1")
	case c.Workers < 1 || c.Workers > 4096:
		return fmt.Errorf("health: config: workers %d must be in 1..4096", c.Workers)
	case c.Rescan <= 0:
		return errors.New("health: config: rescan must be positive")
	}
	return nil
}

// target is one instance being checked.
type target struct {
	key     store.Key
	ik      store.InstanceKey
	cluster store.ClusterInfo
	healthy bool // as last seen or written
	next    time.Time
	fails   int
	oks     int
	busy    bool // a worker has it
	seen    uint64
	index   int // in the heap; -1 when not in it
	// Where it is checked, set when the target or its cluster's
	// settings change (locate): addr as host:port, ap when the host is
	// an IP address, and whether Allow lets the checker connect there.
	addr    string
	ap      netip.AddrPort
	allowed bool
}

// id names a target.
type id struct {
	k  store.Key
	ik store.InstanceKey
}

// job is a check handed to a worker.
type job struct {
	t    *target
	addr string
	ap   netip.AddrPort
	hc   store.HealthChecker
}

// result is a check's answer.
type result struct {
	t   *target
	ok  bool
	err error
	dur time.Duration
	// local: the check could not be made for want of a resource of this
	// node (file descriptors, local ports); it says nothing of the
	// target and counts toward no verdict.
	local bool
}

// Checker runs the checks of the services this node owns.
type Checker struct {
	cfg     Config
	core    Core
	log     *slog.Logger
	metrics *metrics
	jobs    chan job
	results chan result
	stop    chan struct{}
	ctx     context.Context // ends at Stop, so checks in flight end at once
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	once    sync.Once
	started atomic.Bool

	// The scheduler goroutine alone touches these.
	targets map[id]*target
	queue   targetHeap
	scan    uint64
	rescans uint64
	index   uint64      // the store's index at the last scan
	owner   any         // Ownership() at the last scan
	denied  map[id]bool // targets outside Allow, logged once
	backlog bool        // the last dispatch left due checks for want of a worker
	poller  *poller     // TCP handshakes that did not end at once (nil: workers make TCP checks)
}

// New validates cfg and returns a checker; Start starts it.
func New(cfg Config, core Core) (*Checker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Checker{cfg: cfg, core: core, log: cfg.Logger, metrics: newMetrics(), jobs: make(chan job, cfg.Workers),
		results: make(chan result, cfg.Workers), stop: make(chan struct{}), ctx: ctx, cancel: cancel,
		targets: map[id]*target{}, denied: map[id]bool{}}
	if cfg.Dialer == nil {
		p, err := newPoller(c.results, c.stop)
		if err != nil {
			cancel()
			return nil, err
		}
		c.poller = p
	}
	return c, nil
}

// Start starts the scheduler and the workers.
func (c *Checker) Start() {
	c.started.Store(true)
	for range c.cfg.Workers {
		c.wg.Go(c.work)
	}
	if c.poller != nil {
		c.wg.Go(c.poller.run)
	}
	c.wg.Go(c.schedule)
}

// Stop stops every goroutine and waits for them. Safe to call twice.
func (c *Checker) Stop() {
	c.once.Do(func() {
		close(c.stop)
		c.cancel()
		if c.poller != nil {
			c.poller.wake()
			if !c.started.Load() {
				c.poller.close() // its run, which closes it, never ran
			}
		}
	})
	c.wg.Wait()
}

// pace is the shortest wait between two dispatches. Checks go out when
// they are due, a few at a time, not in bursts: at 10,000 targets every
// 5 s (2,000 checks a second) a dispatch starts about four checks.
const pace = 2 * time.Millisecond

// schedule is the scheduler loop: rescans, dispatches due checks and
// applies results. It sleeps until the earliest check is due (at least
// pace after the last dispatch), so the checks are spread over the
// interval as their due times are, and an idle checker does not wake.
func (c *Checker) schedule() {
	wake := time.NewTimer(time.Hour)
	defer wake.Stop()
	rescan := time.NewTicker(c.cfg.Rescan)
	defer rescan.Stop()
	c.rescan()
	c.arm(wake, time.Now())
	for {
		select {
		case <-c.stop:
			return
		case <-rescan.C:
			c.rescan()
			c.arm(wake, time.Now())
		case now := <-wake.C:
			c.dispatch(now)
			c.arm(wake, now.Add(pace))
		case r := <-c.results:
			c.apply(r)
			if c.backlog { // due checks wait for a free worker: hand one over
				c.dispatch(time.Now())
			}
			if c.queue.Len() > 0 && c.queue[0] == r.t { // its next check is now the earliest
				c.arm(wake, time.Now())
			}
		}
	}
}

// arm sets wake to fire when the earliest check is due, but not before
// earliest.
func (c *Checker) arm(wake *time.Timer, earliest time.Time) {
	if c.queue.Len() == 0 {
		wake.Reset(time.Hour)
		return
	}
	wake.Reset(time.Until(latest(c.queue[0].next, earliest)))
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// rescan brings the targets in line with the services this node owns:
// every live persistent instance of a cluster whose checker is TCP or
// HTTP. It skips the scan while neither the registry nor the ownership
// changed.
func (c *Checker) rescan() {
	st := c.core.Store()
	c.rescans++
	idx, own := st.Index(), c.core.Ownership()
	if c.scan > 0 && idx == c.index && own == c.owner && c.rescans%10 != 0 {
		return // nothing changed: skip the scan (a full one every tenth)
	}
	c.index, c.owner = idx, own
	c.scan++
	now := time.Now()
	for _, k := range st.PersistentServices() {
		if !c.core.Owns(k) {
			continue
		}
		snap := st.Snapshot(k)
		for _, in := range snap.Instances {
			if in.Ephemeral {
				continue
			}
			ci := snap.Info.Cluster(in.Cluster)
			if ci.HealthChecker.Type == store.CheckNone {
				continue
			}
			key := id{k, in.InstanceKey}
			t := c.targets[key]
			if t == nil {
				t = &target{key: k, ik: in.InstanceKey, index: -1,
					next: now.Add(rand.N(c.cfg.Interval) + time.Millisecond)} // spread the first checks
				c.targets[key] = t
				heap.Push(&c.queue, t)
			}
			changed := t.cluster.HealthChecker != ci.HealthChecker || t.cluster.CheckPort != ci.CheckPort || t.cluster.UseInstancePort != ci.UseInstancePort
			if changed {
				t.fails, t.oks = 0, 0
			}
			t.cluster, t.healthy, t.seen = ci, in.Healthy, c.scan
			if changed || t.addr == "" {
				c.locate(key, t)
			}
		}
	}
	for key, t := range c.targets {
		if t.seen != c.scan {
			c.drop(key, t)
		}
	}
	c.metrics.targets.Set(float64(len(c.targets)))
}

// drop forgets a target.
func (c *Checker) drop(key id, t *target) {
	delete(c.targets, key)
	delete(c.denied, key)
	if t.index >= 0 {
		heap.Remove(&c.queue, t.index)
	}
}

// dispatch hands the due checks to the workers, as far as they have room.
func (c *Checker) dispatch(now time.Time) {
	c.backlog = false
	for c.queue.Len() > 0 && !c.queue[0].next.After(now) {
		t := c.queue[0]
		key := id{t.key, t.ik}
		if !c.core.Owns(t.key) { // ownership moved: stop at once
			c.drop(key, t)
			continue
		}
		if !t.allowed {
			c.metrics.denied.Inc()
			heap.Pop(&c.queue)
			t.next = now.Add(c.jitter())
			heap.Push(&c.queue, t)
			continue
		}
		if c.inlineTCP(t) {
			if c.poller.full() {
				c.metrics.deferred.Inc()
				c.backlog = true
				return // the rest wait for a handshake to end
			}
			heap.Pop(&c.queue)
			c.connectTCP(t, now)
			continue
		}
		select {
		case c.jobs <- job{t: t, addr: t.addr, ap: t.ap, hc: t.cluster.HealthChecker}:
			heap.Pop(&c.queue)
			t.busy = true
		default:
			c.metrics.deferred.Inc()
			c.backlog = true
			return // every worker busy: the rest wait for a result
		}
	}
}

// inlineTCP reports whether the scheduler makes t's check itself
// (poller_linux.go): a TCP check of an IP address, with the built-in
// connection.
func (c *Checker) inlineTCP(t *target) bool {
	return c.poller != nil && t.cluster.HealthChecker.Type == store.CheckTCP && t.ap.IsValid()
}

// jitter is the wait before a target's next check: Interval ±20%.
func (c *Checker) jitter() time.Duration {
	spread := c.cfg.Interval / 5
	return c.cfg.Interval - spread + rand.N(2*spread+1)
}

// apply counts a check's result and writes the verdict when a threshold
// is crossed.
func (c *Checker) apply(r result) {
	t := r.t
	t.busy = false
	typ := t.cluster.HealthChecker.Type
	if r.local {
		c.metrics.skipped.Inc()
	} else {
		c.metrics.observe(typ, r.ok, r.dur)
	}
	key := id{t.key, t.ik}
	if c.targets[key] != t {
		return // dropped meanwhile
	}
	t.next = time.Now().Add(c.jitter())
	heap.Push(&c.queue, t)
	if r.local {
		return
	}
	if r.ok {
		t.fails, t.oks = 0, t.oks+1
	} else {
		t.oks, t.fails = 0, t.fails+1
	}
	switch {
	case r.ok && !t.healthy && t.oks >= c.cfg.Successes:
		c.verdict(t, true, nil)
	case !r.ok && t.healthy && t.fails >= c.cfg.Failures:
		c.verdict(t, false, r.err)
	}
}

// verdict writes a change of health, if this node still owns the service.
func (c *Checker) verdict(t *target, healthy bool, why error) {
	wrote, err := c.core.CheckedHealth(t.key, t.ik, healthy)
	if err != nil {
		c.log.Warn("health check verdict not written", "service", t.key.String(), "instance", t.ik.IP, "err", err)
		return
	}
	t.healthy = healthy
	if !wrote {
		return
	}
	c.metrics.changes.WithLabelValues(strconv.FormatBool(healthy)).Inc()
	c.log.Info("health check changed an instance's health", "service", t.key.String(), "ip", t.ik.IP, "port", t.ik.Port,
		"cluster", t.ik.Cluster, "healthy", healthy, "type", t.cluster.HealthChecker.Type, "reason", why)
}

// targetHeap orders targets by their next check.
type targetHeap []*target

func (h targetHeap) Len() int           { return len(h) }
func (h targetHeap) Less(i, j int) bool { return h[i].next.Before(h[j].next) }
func (h targetHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *targetHeap) Push(x any) {
	t := x.(*target)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *targetHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.index = -1
	return t
}
