// Package agentproc starts and stops `roster agent` processes for the
// tools that run real clusters (bench's --local launcher and the chaos
// suite): free ports with a retry when another process takes one first, a
// wait until the agent serves /healthz, an optional network namespace,
// and stops by PID only (never by name).
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
	// Netns, when set, runs the agent inside that network namespace
	// (`ip netns exec`, which execs the agent, so the PID is the agent's).
	Netns string
	// Log receives the agent's output as well as the kept tail; nil keeps
	// only the tail. A write error on Log (a file closed too early) loses
	// only Log's copy: the output is always drained, so the agent never
	// blocks on a full pipe.
	Log io.Writer
	// Within bounds the wait for /healthz. Default 10s.
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
}

// ErrNotServing means the agent did not serve /healthz in time or exited
// first; the error carries the tail of its output.
var ErrNotServing = errors.New("agentproc: agent not serving")

var client = &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

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
		picked := spec.HTTP == "" || spec.Gossip == ""
		if p == nil || !picked || !strings.Contains(p.Output(), "address already in use") {
			break
		}
	}
	return nil, lastErr
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
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	deadline := time.Now().Add(spec.Within)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if p.healthy() {
			return p, nil
		}
		if p.Exited() {
			return p, fmt.Errorf("%w: %s exited (%v):\n%s", ErrNotServing, spec.Name, p.cmd.ProcessState, p.Tail(2000))
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.Stop(syscall.SIGKILL, 5*time.Second)
	return p, fmt.Errorf("%w: %s not serving within %v:\n%s", ErrNotServing, spec.Name, spec.Within, p.Tail(2000))
}

func (p *Proc) healthy() bool {
	resp, err := client.Get("http://" + p.HTTP + "/healthz")
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
