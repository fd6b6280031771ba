package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/roster-io/roster/internal/agentproc"
)

// Build compiles roster from the module at repoRoot into dir, with the
// given build tags (the deliberately broken build uses chaosbroken).
func Build(ctx context.Context, repoRoot, dir string, tags ...string) (string, error) {
	bin := filepath.Join(dir, "roster")
	args := []string{"build", "-o", bin}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	cmd := exec.CommandContext(ctx, "go", append(args, ".")...)
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("chaos: go build: %w\n%s", err, out)
	}
	return bin, nil
}

// SupportsDebugFaults reports whether the binary has the --debug-faults
// agent flag.
func SupportsDebugFaults(bin string) bool {
	out, _ := exec.Command(bin, "agent", "--help").CombinedOutput()
	return bytes.Contains(out, []byte("--debug-faults"))
}

// Proc is one agent process of a Cluster.
type Proc struct {
	*agentproc.Proc
	// stopping is set (under Cluster.mu) before the harness signals it,
	// so its exit is expected; ready once WaitReady recorded it ready.
	stopping bool
	ready    bool
}

// Cluster runs `roster agent` processes on loopback (or, with Netns, each
// in a network namespace of its own) and stops them by PID. Every start,
// signal and readiness is recorded in the History. It is safe for
// concurrent use.
type Cluster struct {
	bin         string
	h           *History
	debugFaults bool
	net         *Netns // nil: everything on 127.0.0.1
	logDir      string // non-empty: each agent's output also goes to a file here
	logLevel    string
	// mu guards procs, all and seq.
	mu    sync.Mutex
	procs map[string]*Proc
	all   []*Proc
	seq   int
}

// NewCluster returns an empty cluster of bin's agents, recording into h;
// with net non-nil each node runs in its own namespace.
func NewCluster(bin string, h *History, debugFaults bool, net *Netns) *Cluster {
	return &Cluster{bin: bin, h: h, debugFaults: debugFaults, net: net, procs: map[string]*Proc{}, logLevel: "warn"}
}

// KeepLogs also writes every agent's output, at level, to a file per
// process in dir.
func (c *Cluster) KeepLogs(dir, level string) {
	c.logDir = dir
	if level != "" {
		c.logLevel = level
	}
}

// Start runs an agent called name joining the gossip addresses of the
// running nodes. With empty httpAddr or gossipAddr it picks free ports
// (internal/agentproc retries a port lost to another process). It returns
// once the process serves /healthz.
func (c *Cluster) Start(name, httpAddr, gossipAddr string) (*Proc, error) {
	var join []string
	for _, p := range c.Live() {
		if p.Name != name {
			join = append(join, p.Gossip)
		}
	}
	spec := agentproc.Spec{Bin: c.bin, Name: name, HTTP: httpAddr, Gossip: gossipAddr, Join: join,
		Args: []string{"--gossip-profile", "lan", "--log-level", c.logLevel, "--shutdown-timeout", "5s"}}
	if c.debugFaults {
		spec.Args = append(spec.Args, "--debug-faults")
	}
	if c.net != nil {
		ns, ip, err := c.net.Node(name)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		c.seq++
		seq := c.seq
		c.mu.Unlock()
		spec.Netns = ns
		if spec.HTTP == "" {
			spec.HTTP = fmt.Sprintf("%s:%d", ip, 10000+seq)
		}
		if spec.Gossip == "" {
			spec.Gossip = fmt.Sprintf("%s:%d", ip, 20000+seq)
		}
	}
	var logf *os.File
	if c.logDir != "" {
		var err error
		if logf, err = os.Create(filepath.Join(c.logDir, fmt.Sprintf("%s-%d.log", name, time.Now().UnixNano()))); err != nil {
			return nil, fmt.Errorf("chaos: %w", err)
		}
		spec.Log = logf
	}
	c.h.AddEvent(Event{Kind: EvStart, Node: name, T: time.Now(), Detail: "http " + spec.HTTP + " gossip " + spec.Gossip})
	ap, err := agentproc.Start(context.Background(), spec)
	if logf != nil {
		if err != nil {
			logf.Close()
		} else {
			go func() { <-ap.Done(); logf.Close() }() // the output is copied until the exit
		}
	}
	if err != nil {
		return nil, fmt.Errorf("chaos: %w", err)
	}
	p := &Proc{Proc: ap}
	c.mu.Lock()
	c.all = append(c.all, p)
	c.procs[name] = p
	c.mu.Unlock()
	go func() {
		<-p.Done()
		c.mu.Lock()
		expected := p.stopping
		c.mu.Unlock()
		if !expected {
			c.h.AddFinding(Finding{T: time.Now(), Node: name, What: "node exited on its own",
				Detail: fmt.Sprintf("%s; output tail:\n%s", p.State(), p.Tail(2000))})
		}
	}()
	return p, nil
}

// WaitReady waits until every running node answers /readyz and lists
// every running node as alive, and records Ready for each.
func (c *Cluster) WaitReady(within time.Duration) error {
	deadline := time.Now().Add(within)
	live := c.Live()
	pending := map[string]*Proc{}
	for _, p := range live {
		pending[p.Name] = p
	}
	for len(pending) > 0 {
		for name, p := range pending {
			code, _, _ := do(http.MethodGet, p.HTTP, "/readyz", nil, nil, time.Second)
			if code != 200 || !c.allAlive(p, live) {
				continue
			}
			c.mu.Lock()
			first := !p.ready
			p.ready = true
			c.mu.Unlock()
			if first {
				c.h.AddEvent(Event{Kind: EvReady, Node: name, T: time.Now()})
			}
			delete(pending, name)
		}
		if len(pending) == 0 {
			break
		}
		if time.Now().After(deadline) {
			var names []string
			for n, p := range pending {
				_, body, _ := do(http.MethodGet, p.HTTP, "/v1/cluster/members", nil, nil, time.Second)
				names = append(names, n+": "+string(body))
			}
			return fmt.Errorf("chaos: not ready with full membership within %v: %s", within, strings.Join(names, "; "))
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

func (c *Cluster) allAlive(p *Proc, live []*Proc) bool {
	code, body, _ := do(http.MethodGet, p.HTTP, "/v1/cluster/members", nil, nil, time.Second)
	if code != 200 {
		return false
	}
	var m struct {
		Members []struct{ Name, State, GossipAddr string }
	}
	if json.Unmarshal(body, &m) != nil {
		return false
	}
	// Alive at the address it runs on now: a node restarted on new ports
	// is not "in" until the others know the new incarnation.
	alive := map[string]string{}
	for _, x := range m.Members {
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

// Live returns the running nodes.
func (c *Cluster) Live() []*Proc {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*Proc, 0, len(c.procs))
	for _, p := range c.procs {
		out = append(out, p)
	}
	sortProcs(out)
	return out
}

func sortProcs(ps []*Proc) {
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && ps[j].Name < ps[j-1].Name; j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
}

// Get returns the running node called name.
func (c *Cluster) Get(name string) *Proc {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.procs[name]
}

// Stop signals the node by PID (SIGKILL or SIGTERM), records it and waits
// for the process to exit (a SIGTERM that takes over 10s is followed by
// SIGKILL and recorded as a finding).
func (c *Cluster) Stop(name string, sig syscall.Signal) error {
	c.mu.Lock()
	p := c.procs[name]
	if p != nil {
		p.stopping = true
		delete(c.procs, name)
	}
	c.mu.Unlock()
	if p == nil {
		return fmt.Errorf("chaos: no running node %s", name)
	}
	kind := EvKill
	if sig == syscall.SIGTERM {
		kind = EvTerm
	}
	c.h.AddEvent(Event{Kind: kind, Node: name, T: time.Now(), Detail: fmt.Sprintf("pid %d", p.PID())})
	if p.Stop(sig, 10*time.Second) {
		c.h.AddFinding(Finding{T: time.Now(), Node: name, What: "graceful shutdown hung", Detail: "no exit 10s after SIGTERM"})
	}
	return nil
}

// Shutdown SIGKILLs every process still running, by PID, and waits.
func (c *Cluster) Shutdown() {
	c.mu.Lock()
	all := append([]*Proc(nil), c.all...)
	for _, p := range all {
		p.stopping = true
	}
	c.procs = map[string]*Proc{}
	c.mu.Unlock()
	for _, p := range all {
		p.Stop(syscall.SIGKILL, 5*time.Second)
	}
}

// Block sets, through /debug/faults, the members node drops traffic to.
// It returns the HTTP status (404 when the agent lacks --debug-faults).
func (c *Cluster) Block(name string, block []string) (int, error) {
	p := c.Get(name)
	if p == nil {
		return 0, fmt.Errorf("chaos: no running node %s", name)
	}
	if block == nil {
		block = []string{}
	}
	body, _ := json.Marshal(map[string][]string{"block": block})
	code, out, err := do(http.MethodPut, p.HTTP, "/debug/faults", nil, body, 2*time.Second)
	if err == nil && code != 200 {
		err = fmt.Errorf("chaos: PUT /debug/faults on %s: %d %s", name, code, out)
	}
	return code, err
}

// Partition cuts a from b both ways: through network namespaces when the
// cluster runs in them, else through every node's /debug/faults.
func (c *Cluster) Partition(a, b []string) error {
	if c.net != nil {
		return c.net.Cut(a, b)
	}
	for _, n := range a {
		if _, err := c.Block(n, b); err != nil {
			return err
		}
	}
	for _, n := range b {
		if _, err := c.Block(n, a); err != nil {
			return err
		}
	}
	return nil
}

// Heal undoes every Partition.
func (c *Cluster) Heal() error {
	if c.net != nil {
		return c.net.Heal()
	}
	var errs []error
	for _, p := range c.Live() {
		if _, err := c.Block(p.Name, nil); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// TempDir makes a directory for the binary.
func TempDir() (string, error) { return os.MkdirTemp("", "roster-chaos-") }
