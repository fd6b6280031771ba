// Package agentproc is roster's one process launcher, for everything that
// runs real `roster agent` processes (the bench's --local clusters, the
// chaos suite, the e2e tests and the nacos-sdk-go compatibility suite): it
// builds roster (Build, Binary), starts one agent on free ports
// (internal/freeport) with a retry when another process takes one first,
// waits until it serves /healthz, optionally inside a network namespace,
// and stops it by PID only (never by name). Cluster runs several agents
// joined into one cluster: start, kill -9 or restart one, wait until all
// are ready, stop them all.
package agentproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/roster-io/roster/internal/await"
	"github.com/roster-io/roster/internal/freeport"
)

// Spec describes one agent to start.
type Spec struct {
	// Bin is the roster executable.
	Bin string
	// Name is --name.
	Name string
	// HTTP and Gossip are the --http and --gossip addresses; an empty one
	// gets a free 127.0.0.1 port (a start that loses it to another process
	// is retried on new ports).
	HTTP, Gossip string
	// Join lists the --join seeds.
	Join []string
	// Args are further agent flags, such as --gossip-profile.
	Args []string
	// DataDir is --data-dir; empty runs the agent --in-memory, so tests
	// never share state.
	DataDir string
	// Netns, when set, runs the agent inside that network namespace
	// (`ip netns exec`, which execs the agent, so the PID is the agent's).
	Netns string
	// Log receives the agent's output as well as the kept tail; nil keeps
	// only the tail. A write error on Log (a file closed too early) loses
	// only Log's copy: the output is always drained, so the agent never
	// blocks on a full pipe.
	Log io.Writer
	// Ready also waits until the agent answers /readyz with 200 (a single
	// node, or one joining a cluster that synced it).
	Ready bool
	// Within bounds the wait for /healthz (and /readyz). Default 10s.
	Within time.Duration
	// Attempts bounds the retries on a taken port. Default 5.
	Attempts int
}

// Proc is one running (or exited) agent. It is safe for concurrent use.
type Proc struct {
	Name   string
	HTTP   string // host:port
	Gossip string // host:port
	cmd    *exec.Cmd
	out    *tailBuffer
	done   chan struct{}
	err    error // cmd.Wait's result; read only after done is closed
}

// ErrNotServing means the agent did not serve /healthz in time or exited
// first; the error carries the tail of its output.
var ErrNotServing = errors.New("agentproc: agent not serving")

var probe = &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// Start runs the agent of spec and returns once it serves /healthz. On
// error nothing it started is left running.
func Start(ctx context.Context, spec Spec) (*Proc, error) {
	if spec.Within <= 0 {
		spec.Within = 10 * time.Second
	}
	if spec.Attempts <= 0 {
		spec.Attempts = 5
	}
	var lastErr error
	for attempt := 1; attempt <= spec.Attempts; attempt++ {
		h, g := spec.HTTP, spec.Gossip
		var err error
		if h == "" {
			if h, err = freeAddr(); err != nil {
				return nil, err
			}
		}
		if g == "" {
			if g, err = freeAddr(); err != nil {
				return nil, err
			}
		}
		p, err := launch(ctx, spec, h, g)
		if err == nil {
			return p, nil
		}
		lastErr = err
		if p == nil || !lostPickedPort(p, spec) {
			break
		}
	}
	return nil, lastErr
}

// lostPickedPort reports whether p failed because a port Start picked was
// taken before the agent bound it; a fixed address that is taken is not
// retried.
func lostPickedPort(p *Proc, spec Spec) bool {
	out := p.Output()
	if !strings.Contains(out, "address already in use") {
		return false
	}
	for _, fixed := range []string{spec.HTTP, spec.Gossip} {
		if fixed != "" && strings.Contains(out, fixed) {
			return false
		}
	}
	return spec.HTTP == "" || spec.Gossip == ""
}

func freeAddr() (string, error) {
	p, err := freeport.TCPUDP()
	if err != nil {
		return "", fmt.Errorf("agentproc: %w", err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(p)), nil
}

func launch(ctx context.Context, spec Spec, httpAddr, gossipAddr string) (*Proc, error) {
	p := &Proc{Name: spec.Name, HTTP: httpAddr, Gossip: gossipAddr, out: &tailBuffer{}, done: make(chan struct{})}
	args := []string{"agent", "--name", spec.Name, "--http", httpAddr, "--gossip", gossipAddr}
	if spec.DataDir != "" {
		args = append(args, "--data-dir", spec.DataDir)
	} else {
		args = append(args, "--in-memory")
	}
	args = append(args, spec.Args...)
	if len(spec.Join) > 0 {
		args = append(args, "--join", strings.Join(spec.Join, ","))
	}
	bin := spec.Bin
	if spec.Netns != "" {
		args = append([]string{"netns", "exec", spec.Netns, bin}, args...)
		bin = "ip"
	}
	p.cmd = exec.Command(bin, args...)
	var w io.Writer = p.out
	if spec.Log != nil {
		w = &tee{tail: p.out, log: spec.Log}
	}
	p.cmd.Stdout, p.cmd.Stderr = w, w
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("agentproc: start %s: %w", spec.Name, err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	_, err := await.Until(ctx, 20*time.Millisecond, spec.Within, func() bool {
		return p.Exited() || (p.serves("/healthz") && (!spec.Ready || p.serves("/readyz")))
	})
	switch {
	case err == nil && !p.Exited():
		return p, nil
	case p.Exited():
		return p, fmt.Errorf("%w: %s exited (%v):\n%s", ErrNotServing, spec.Name, p.cmd.ProcessState, p.Tail(2000))
	}
	p.Stop(syscall.SIGKILL, 5*time.Second)
	return p, fmt.Errorf("%w: %s not serving within %v:\n%s", ErrNotServing, spec.Name, spec.Within, p.Tail(2000))
}

// serves reports whether the agent answers GET path with 200.
func (p *Proc) serves(path string) bool {
	resp, err := probe.Get("http://" + p.HTTP + path)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// URL is the agent's base URL.
func (p *Proc) URL() string { return "http://" + p.HTTP }

// PID is the agent's process id.
func (p *Proc) PID() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Wait waits for the process to exit and returns how it did: nil for exit
// status 0.
func (p *Proc) Wait() error {
	<-p.done
	return p.err
}

// State describes how the process exited; "" while it runs.
func (p *Proc) State() string {
	if !p.Exited() {
		return ""
	}
	return p.cmd.ProcessState.String()
}

// Signal sends sig to the process by PID unless it has exited.
func (p *Proc) Signal(sig syscall.Signal) {
	if !p.Exited() {
		_ = p.cmd.Process.Signal(sig)
	}
}

// Stop sends sig and waits for the exit; after within it sends SIGKILL
// and waits again. It reports whether SIGKILL had to follow.
func (p *Proc) Stop(sig syscall.Signal, within time.Duration) (killed bool) {
	p.Signal(sig)
	select {
	case <-p.done:
		return false
	case <-time.After(within):
	}
	p.Signal(syscall.SIGKILL)
	<-p.done
	return sig != syscall.SIGKILL
}

// Output is the kept output (the last few MiB).
func (p *Proc) Output() string { return p.out.String() }

// Tail is the last n bytes of the output.
func (p *Proc) Tail(n int) string {
	s := p.out.String()
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// tee writes to the tail and to log, ignoring log's errors.
type tee struct {
	tail *tailBuffer
	log  io.Writer
}

func (t *tee) Write(p []byte) (int, error) {
	_, _ = t.log.Write(p)
	return t.tail.Write(p)
}

// tailBuffer keeps the last few MiB written to it.
type tailBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.b.Len() > 4<<20 {
		keep := append([]byte("...\n"), t.b.Bytes()[t.b.Len()-(1<<20):]...)
		t.b.Reset()
		t.b.Write(keep)
	}
	return t.b.Write(p)
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.b.String()
}
