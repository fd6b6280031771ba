package agentproc

// Cluster: several agents joined into one cluster, by name. Every node
// started joins the gossip addresses of the nodes running at that moment;
// the cluster is ready when every running node answers /readyz and lists
// every running node alive at the gossip address it runs on now (a node
// restarted on new ports is not "in" until the others know its new
// incarnation). Processes are stopped by PID only.

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/roster-io/roster/client"
	"github.com/roster-io/roster/internal/await"
)

// ClusterConfig configures a Cluster.
type ClusterConfig struct {
	// Bin is the roster executable.
	Bin string
	// Args are agent flags every node gets, such as --gossip-profile.
	Args []string
	// DataDir, if set, gives each node the data directory DataDir/<name>,
	// which a restart of the node reuses; empty runs every node
	// --in-memory.
	DataDir string
	// LogDir, if set, also receives each process's output in a file of
	// its own, <name>-<unix nanoseconds>.log.
	LogDir string
	// StopWithin bounds a stop by SIGTERM before SIGKILL follows.
	// Default 10s.
	StopWithin time.Duration
	// Place, if set, places a node before it starts: the network namespace
	// to run it in and its HTTP and gossip addresses (used when Start is
	// not given them).
	Place func(name string) (netns, httpAddr, gossipAddr string, err error)
	// Events, if set, is told of every start, readiness, signal, hung
	// stop and unexpected exit.
	Events func(Event)
	// StartWithin bounds a node's start until it serves /healthz (Spec's
	// Within). Default 10s.
	StartWithin time.Duration
	// MaxSeeds, if > 0, makes a node join only the first MaxSeeds running
	// nodes (by name), as a production cluster lists a few seeds; 0 joins
	// every running node.
	MaxSeeds int
}

// EventKind says what happened to a node.
type EventKind int

const (
	// EventStart: the node is about to start; Detail names the addresses
	// asked for ("http A gossip G", empty when picked free).
	EventStart EventKind = iota
	// EventReady: the node was first seen ready with full membership.
	EventReady
	// EventSignal: the cluster is about to signal the node (Signal);
	// Detail is "pid N".
	EventSignal
	// EventStopHung: the node did not exit StopWithin after SIGTERM and
	// got SIGKILL.
	EventStopHung
	// EventExit: the node exited without the cluster signalling it;
	// Detail holds its exit state and output tail.
	EventExit
)

// Event is one thing that happened to a node of a Cluster.
type Event struct {
	Kind   EventKind
	Node   string
	T      time.Time
	Signal syscall.Signal // EventSignal only
	Detail string
}

// Cluster runs named agents and stops them by PID. It is safe for
// concurrent use.
type Cluster struct {
	cfg  ClusterConfig
	http *http.Client
	wg   sync.WaitGroup // one exit watcher per process

	// mu guards live, all and the members' stopping and ready.
	mu   sync.Mutex
	live map[string]*member // running nodes by name
	all  []*member          // every process ever started
}

// member is one process of the cluster.
type member struct {
	*Proc
	api      *client.Node
	stopping bool // the cluster signalled it: its exit is expected
	ready    bool // seen ready once
}

// NewCluster returns an empty cluster.
func NewCluster(cfg ClusterConfig) *Cluster {
	if cfg.StopWithin <= 0 {
		cfg.StopWithin = 10 * time.Second
	}
	return &Cluster{cfg: cfg, live: map[string]*member{},
		http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4, IdleConnTimeout: 30 * time.Second}}}
}

// StartCluster starts n agents named prefix1 to prefixN (zero-padded when
// n > 9, so that the names sort in start order), each joining the ones
// before it, and waits within `within` until they form a ready cluster. On
// error it stops whatever it started.
func StartCluster(ctx context.Context, cfg ClusterConfig, prefix string, n int, within time.Duration) (*Cluster, error) {
	c := NewCluster(cfg)
	width := len(fmt.Sprint(n))
	for i := 1; i <= n; i++ {
		if _, err := c.Start(ctx, fmt.Sprintf("%s%0*d", prefix, width, i), "", ""); err != nil {
			c.Shutdown(syscall.SIGKILL)
			return nil, err
		}
	}
	if err := c.WaitReady(ctx, within); err != nil {
		c.Shutdown(syscall.SIGKILL)
		return nil, err
	}
	return c, nil
}

// Start runs an agent called name joining the gossip addresses of the
// running nodes. With empty httpAddr or gossipAddr it takes the address
// ClusterConfig.Place gives, else a free port. It returns once the process
// serves /healthz.
func (c *Cluster) Start(ctx context.Context, name, httpAddr, gossipAddr string) (*Proc, error) {
	var join []string
	for _, p := range c.Live() {
		if p.Name != name && (c.cfg.MaxSeeds <= 0 || len(join) < c.cfg.MaxSeeds) {
			join = append(join, p.Gossip)
		}
	}
	spec := Spec{Bin: c.cfg.Bin, Name: name, HTTP: httpAddr, Gossip: gossipAddr, Join: join, Args: c.cfg.Args, Within: c.cfg.StartWithin}
	if c.cfg.DataDir != "" {
		spec.DataDir = filepath.Join(c.cfg.DataDir, name)
	}
	if c.cfg.Place != nil {
		ns, h, g, err := c.cfg.Place(name)
		if err != nil {
			return nil, err
		}
		spec.Netns = ns
		spec.HTTP, spec.Gossip = cmpOr(spec.HTTP, h), cmpOr(spec.Gossip, g)
	}
	var logf *os.File
	if c.cfg.LogDir != "" {
		var err error
		if logf, err = os.Create(filepath.Join(c.cfg.LogDir, fmt.Sprintf("%s-%d.log", name, time.Now().UnixNano()))); err != nil {
			return nil, fmt.Errorf("agentproc: %w", err)
		}
		spec.Log = logf
	}
	c.event(Event{Kind: EventStart, Node: name, Detail: "http " + spec.HTTP + " gossip " + spec.Gossip})
	p, err := Start(ctx, spec)
	if err != nil {
		if logf != nil {
			logf.Close()
			err = fmt.Errorf("%w (log %s)", err, logf.Name())
		}
		return nil, err
	}
	api, err := client.NewNode(client.Config{Addrs: []string{p.URL()}, HTTPClient: c.http, RequestTimeout: time.Second})
	if err != nil {
		p.Stop(syscall.SIGKILL, 5*time.Second)
		return nil, fmt.Errorf("agentproc: %w", err)
	}
	m := &member{Proc: p, api: api}
	c.mu.Lock()
	c.live[name] = m
	c.all = append(c.all, m)
	c.mu.Unlock()
	c.wg.Add(1)
	go c.watch(m, logf)
	return p, nil
}

// watch waits for m's exit, closes its log file and reports an exit the
// cluster did not cause.
func (c *Cluster) watch(m *member, logf *os.File) {
	defer c.wg.Done()
	<-m.Done()
	if logf != nil {
		logf.Close() // the output is copied until the exit
	}
	c.mu.Lock()
	expected := m.stopping
	c.mu.Unlock()
	if !expected {
		c.event(Event{Kind: EventExit, Node: m.Name, Detail: fmt.Sprintf("%s; output tail:\n%s", m.State(), m.Tail(2000))})
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// event stamps e and hands it to ClusterConfig.Events.
func (c *Cluster) event(e Event) {
	if c.cfg.Events != nil {
		e.T = time.Now()
		c.cfg.Events(e)
	}
}

// WaitReady waits until every running node answers /readyz and lists
// every running node alive at its current gossip address.
func (c *Cluster) WaitReady(ctx context.Context, within time.Duration) error {
	c.mu.Lock()
	live := make([]*member, 0, len(c.live))
	for _, m := range c.live {
		live = append(live, m)
	}
	c.mu.Unlock()
	pending := slices.Clone(live)
	_, err := await.Until(ctx, 50*time.Millisecond, within, func() bool {
		pending = slices.DeleteFunc(pending, func(m *member) bool {
			if !c.readyIn(ctx, m, live) {
				return false
			}
			c.mu.Lock()
			first := !m.ready
			m.ready = true
			c.mu.Unlock()
			if first {
				c.event(Event{Kind: EventReady, Node: m.Name})
			}
			return true
		})
		return len(pending) == 0
	})
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("agentproc: wait for a ready cluster: %w", ctx.Err())
	}
	var views []string
	for _, m := range pending {
		ans, err := m.api.Do(ctx, http.MethodGet, "/v1/cluster/members", nil, nil)
		if err != nil {
			views = append(views, m.Name+": "+err.Error())
			continue
		}
		views = append(views, m.Name+": "+string(ans.Body))
	}
	slices.Sort(views)
	logs := ""
	if c.cfg.LogDir != "" {
		logs = " (logs in " + c.cfg.LogDir + ")"
	}
	return fmt.Errorf("agentproc: not ready with full membership within %v%s: %s", within, logs, strings.Join(views, "; "))
}

// readyIn reports whether m answers /readyz and lists exactly the nodes of
// live as alive, each at the gossip address it runs on now.
func (c *Cluster) readyIn(ctx context.Context, m *member, live []*member) bool {
	rctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, m.URL()+"/readyz", nil)
	if err != nil {
		return false
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false
	}
	ms, err := m.api.Members(ctx)
	if err != nil {
		return false
	}
	alive := map[string]string{}
	for _, x := range ms {
		if x.State == "alive" {
			alive[x.Name] = x.GossipAddr
		}
	}
	for _, q := range live {
		if a, ok := alive[q.Name]; !ok || (a != "" && a != q.Gossip) {
			return false
		}
	}
	return len(alive) == len(live)
}

// Live returns the running nodes, sorted by name.
func (c *Cluster) Live() []*Proc {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*Proc, 0, len(c.live))
	for _, m := range c.live {
		out = append(out, m.Proc)
	}
	slices.SortFunc(out, func(a, b *Proc) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// URLs returns the base URLs of the running nodes, in Live's order.
func (c *Cluster) URLs() []string {
	var out []string
	for _, p := range c.Live() {
		out = append(out, p.URL())
	}
	return out
}

// PIDs returns the process ids of the running nodes, in Live's order.
func (c *Cluster) PIDs() []int {
	var out []int
	for _, p := range c.Live() {
		out = append(out, p.PID())
	}
	return out
}

// Get returns the running node called name, or nil.
func (c *Cluster) Get(name string) *Proc {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m := c.live[name]; m != nil {
		return m.Proc
	}
	return nil
}

// LogDir is where the agents' log files are ("" if none are kept).
func (c *Cluster) LogDir() string { return c.cfg.LogDir }

// Stop signals the running node called name by PID (SIGKILL or SIGTERM)
// and waits for it to exit; a SIGTERM that takes over StopWithin is
// followed by SIGKILL (and EventStopHung).
func (c *Cluster) Stop(name string, sig syscall.Signal) error {
	c.mu.Lock()
	m := c.live[name]
	if m != nil {
		m.stopping = true
		delete(c.live, name)
	}
	c.mu.Unlock()
	if m == nil {
		return fmt.Errorf("agentproc: no running node %s", name)
	}
	c.event(Event{Kind: EventSignal, Node: name, Signal: sig, Detail: fmt.Sprintf("pid %d", m.PID())})
	if m.Stop(sig, c.cfg.StopWithin) {
		c.event(Event{Kind: EventStopHung, Node: name, Detail: fmt.Sprintf("no exit %v after %v", c.cfg.StopWithin, sigName(sig))})
	}
	return nil
}

// Kill SIGKILLs the running node called name and waits until it is gone.
func (c *Cluster) Kill(name string) error { return c.Stop(name, syscall.SIGKILL) }

// Restart starts the node called name again on new ports (SIGKILLing it
// first if it still runs) and waits within `within` until the whole
// cluster is ready.
func (c *Cluster) Restart(ctx context.Context, name string, within time.Duration) (*Proc, error) {
	if c.Get(name) != nil {
		if err := c.Kill(name); err != nil {
			return nil, err
		}
	}
	p, err := c.Start(ctx, name, "", "")
	if err != nil {
		return nil, err
	}
	return p, c.WaitReady(ctx, within)
}

// Shutdown stops every process the cluster ever started, all at once, by
// PID: sig, then SIGKILL after StopWithin. It waits until they are gone.
// It is safe to call more than once.
func (c *Cluster) Shutdown(sig syscall.Signal) {
	c.mu.Lock()
	all := slices.Clone(c.all)
	for _, m := range all {
		m.stopping = true
	}
	c.live = map[string]*member{}
	c.mu.Unlock()
	var wg sync.WaitGroup
	for _, m := range all {
		wg.Go(func() { m.Stop(sig, c.cfg.StopWithin) })
	}
	wg.Wait()
	c.wg.Wait()
}

// sigName names the signals the cluster sends.
func sigName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGKILL:
		return "SIGKILL"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return sig.String()
}
