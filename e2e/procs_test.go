package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/roster-io/roster/internal/freeport"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds roster once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "roster-e2e-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "roster")
		out, err := exec.Command("go", "build", "-o", binPath, "..").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// freePort returns a loopback port free for TCP and UDP a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	port, err := freeport.TCPUDP()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// agent is one running `roster agent` process.
type agent struct {
	name     string
	http     string
	gossip   string
	cmd      *exec.Cmd
	out      *syncBuffer
	waitDone chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startAgent runs roster agent; the test's cleanup stops it by PID. Ports
// are picked free but another test may take one before the agent binds
// it, so a start that fails with "address already in use" is retried with
// new ports.
func startAgent(t *testing.T, name string, join []string, extra ...string) *agent {
	t.Helper()
	for attempt := 1; ; attempt++ {
		a := launch(t, name, join, extra...)
		if err := a.waitServing(10 * time.Second); err == nil {
			return a
		} else if attempt >= 5 || !strings.Contains(a.out.String(), "address already in use") {
			t.Fatalf("start %s: %v\n%s", name, err, a.out.String())
		}
	}
}

// launch starts one agent process on fresh ports.
func launch(t *testing.T, name string, join []string, extra ...string) *agent {
	t.Helper()
	a := &agent{name: name, out: &syncBuffer{}, waitDone: make(chan struct{}),
		http:   fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		gossip: fmt.Sprintf("127.0.0.1:%d", freePort(t))}
	args := []string{"agent", "--name", name, "--http", a.http, "--gossip", a.gossip, "--log-level", "info"}
	if len(join) > 0 {
		args = append(args, "--join", strings.Join(join, ","))
	}
	args = append(args, extra...)
	a.cmd = exec.Command(binary(t), args...)
	a.cmd.Stdout, a.cmd.Stderr = a.out, a.out
	if err := a.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { _ = a.cmd.Wait(); close(a.waitDone) }()
	t.Cleanup(func() {
		a.kill(syscall.SIGTERM)
		select {
		case <-a.waitDone:
		case <-time.After(10 * time.Second):
			a.kill(syscall.SIGKILL)
			<-a.waitDone
		}
		if t.Failed() {
			t.Logf("--- %s output ---\n%s", name, a.out.String())
		}
	})
	return a
}

// waitServing waits until the agent answers /healthz, or fails when it
// exits first.
func (a *agent) waitServing(within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		if code, _ := call(http.MethodGet, a.http, "/healthz", nil); code == http.StatusOK {
			return nil
		}
		select {
		case <-a.waitDone:
			return fmt.Errorf("%s exited before serving", a.name)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not serving within %v", a.name, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill signals the process by its PID.
func (a *agent) kill(sig syscall.Signal) {
	select {
	case <-a.waitDone:
		return
	default:
	}
	_ = a.cmd.Process.Signal(sig)
}

// sigkill kills the agent and waits for it to be gone.
func (a *agent) sigkill(t *testing.T) {
	t.Helper()
	a.kill(syscall.SIGKILL)
	select {
	case <-a.waitDone:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s did not die", a.name)
	}
}

var client = &http.Client{Timeout: 3 * time.Second}

// call sends a Nacos-style request and returns status and body; a
// connection error gives status 0.
func call(method, addr, path string, v url.Values) (int, string) {
	u := "http://" + addr + path
	var body io.Reader
	if method == http.MethodGet || method == http.MethodDelete {
		u += "?" + v.Encode()
	} else {
		body = strings.NewReader(v.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		return 0, err.Error()
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitFor polls cond until it holds or within passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("%s: not true within %v", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}
