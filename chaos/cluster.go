package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/roster-io/roster/internal/freeport"
)

// Cluster runs `roster agent` processes on loopback and stops them by PID.
// Every start, signal and readiness is recorded in the History. It is safe
// for concurrent use.

// Build compiles roster from the module at repoRoot into dir.
func Build(ctx context.Context, repoRoot, dir string) (string, error) {
	bin := filepath.Join(dir, "roster")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
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

// Proc is one agent process.
type Proc struct {
	Name   string
	HTTP   string
	Gossip string
	cmd    *exec.Cmd
	out    *syncBuffer
	done   chan struct{}
	// stopping is set before the harness signals it, so an exit is
	// expected.
	stopping bool
}

// Exited reports whether the process is gone.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Output is the process' combined output so far.
func (p *Proc) Output() string { return p.out.String() }

type syncBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b.Len() > 4<<20 { // keep memory bounded; the tail is what matters
		tail := s.b.Bytes()[s.b.Len()-(1<<20):]
		s.b = *bytes.NewBuffer(append([]byte("...\n"), tail...))
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Cluster is a set of agent processes.
type Cluster struct {
	bin         string
	h           *History
	debugFaults bool
	// mu guards procs and all (every process ever started).
	mu    sync.Mutex
	procs map[string]*Proc
	all   []*Proc
}

// NewCluster returns an empty cluster of bin's agents, recording into h.
func NewCluster(bin string, h *History, debugFaults bool) *Cluster {
	return &Cluster{bin: bin, h: h, debugFaults: debugFaults, procs: map[string]*Proc{}}
}

func freeAddr() (string, error) {
	p, err := freeport.TCPUDP()
	return fmt.Sprintf("127.0.0.1:%d", p), err
}

// Start runs an agent called name joining the gossip addresses of the
// running nodes. With empty httpAddr or gossipAddr it picks free ports; a
// start that loses a picked port to another process is retried on new
// ones. It returns once the process serves /healthz.
func (c *Cluster) Start(name, httpAddr, gossipAddr string) (*Proc, error) {
	var join []string
	for _, p := range c.Live() {
		if p.Name != name {
			join = append(join, p.Gossip)
		}
	}
	var lastErr error
	for attempt := 1; attempt <= 5; attempt++ {
		h, g := httpAddr, gossipAddr
		var err error
		if h == "" || attempt > 1 {
			if h, err = freeAddr(); err != nil {
				return nil, err
			}
		}
		if g == "" || attempt > 1 {
			if g, err = freeAddr(); err != nil {
				return nil, err
			}
		}
		p, err := c.launch(name, h, g, join)
		if err == nil {
			return p, nil
		}
		lastErr = err
		if !strings.Contains(p.Output(), "address already in use") {
			break
		}
	}
	return nil, lastErr
}

func (c *Cluster) launch(name, httpAddr, gossipAddr string, join []string) (*Proc, error) {
	p := &Proc{Name: name, HTTP: httpAddr, Gossip: gossipAddr, out: &syncBuffer{}, done: make(chan struct{})}
	args := []string{"agent", "--name", name, "--http", httpAddr, "--gossip", gossipAddr,
		"--gossip-profile", "lan", "--log-level", "warn", "--shutdown-timeout", "5s"}
	if len(join) > 0 {
		args = append(args, "--join", strings.Join(join, ","))
	}
	if c.debugFaults {
		args = append(args, "--debug-faults")
	}
	p.cmd = exec.Command(c.bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	c.h.AddEvent(Event{Kind: EvStart, Node: name, T: time.Now(), Detail: "http " + httpAddr + " gossip " + gossipAddr})
	if err := p.cmd.Start(); err != nil {
		return p, fmt.Errorf("chaos: start %s: %w", name, err)
	}
	c.mu.Lock()
	c.all = append(c.all, p)
	c.procs[name] = p
	c.mu.Unlock()
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
		c.mu.Lock()
		expected := p.stopping
		c.mu.Unlock()
		if !expected {
			c.h.AddFinding(Finding{T: time.Now(), Node: name, What: "node exited on its own",
				Detail: fmt.Sprintf("%v; output tail:\n%s", p.cmd.ProcessState, tail(p.Output(), 2000))})
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if code, _, _ := do(http.MethodGet, p.HTTP, "/healthz", nil, nil, time.Second); code == 200 {
			return p, nil
		}
		if p.Exited() {
			c.forget(p)
			return p, fmt.Errorf("chaos: %s exited before serving:\n%s", name, tail(p.Output(), 2000))
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.signal(p, syscall.SIGKILL)
	<-p.done
	c.forget(p)
	return p, fmt.Errorf("chaos: %s not serving within 10s:\n%s", name, tail(p.Output(), 2000))
}

func (c *Cluster) forget(p *Proc) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p.stopping = true
	if c.procs[p.Name] == p {
		delete(c.procs, p.Name)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
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
			c.h.AddEvent(Event{Kind: EvReady, Node: name, T: time.Now()})
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

func (c *Cluster) signal(p *Proc, sig syscall.Signal) {
	if !p.Exited() {
		_ = p.cmd.Process.Signal(sig)
	}
}

// Stop signals the node by PID (SIGKILL or SIGTERM), records it and waits
// for the process to exit (a SIGTERM that takes over 10s is followed by
// SIGKILL).
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
	c.h.AddEvent(Event{Kind: kind, Node: name, T: time.Now(), Detail: fmt.Sprintf("pid %d", p.cmd.Process.Pid)})
	c.signal(p, sig)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		c.signal(p, syscall.SIGKILL)
		<-p.done
		if sig == syscall.SIGTERM {
			c.h.AddFinding(Finding{T: time.Now(), Node: name, What: "graceful shutdown hung", Detail: "no exit 10s after SIGTERM"})
		}
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
		c.signal(p, syscall.SIGKILL)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
		}
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

// TempDir makes a directory for the binary.
func TempDir() (string, error) { return os.MkdirTemp("", "roster-chaos-") }
