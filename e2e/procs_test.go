package e2e

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/roster-io/roster/internal/agentproc"
	"github.com/roster-io/roster/internal/freeport"
)

// binary builds roster once per test run (agentproc.Binary; TestMain
// removes it).
func binary(t *testing.T) string {
	t.Helper()
	bin, err := agentproc.Binary(context.Background(), "..")
	if err != nil {
		t.Fatal(err)
	}
	return bin
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

// agent is one running `roster agent` process, started by the launcher
// bench and chaos use (free ports, a retry when another process takes one,
// a wait for /healthz, stops by PID).
type agent struct {
	*agentproc.Proc
	name   string
	http   string
	gossip string
}

// startAgent runs roster agent; the test's cleanup stops it by PID and, if
// the test failed, logs its output.
func startAgent(t *testing.T, name string, join []string, extra ...string) *agent {
	t.Helper()
	p, err := agentproc.Start(context.Background(), agentproc.Spec{Bin: binary(t), Name: name, Join: join,
		Args: append([]string{"--log-level", "info"}, extra...)})
	if err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		p.Stop(syscall.SIGTERM, 10*time.Second)
		if t.Failed() {
			t.Logf("--- %s output ---\n%s", name, p.Output())
		}
	})
	return &agent{Proc: p, name: name, http: p.HTTP, gossip: p.Gossip}
}

// startCluster3 starts three agents, a, b and c, each joining the ones
// before it (agentproc.Cluster), and waits until each answers /readyz and
// sees all three alive; the test's cleanup stops them by PID and, if the
// test failed, logs their output.
func startCluster3(t *testing.T) []*agent {
	t.Helper()
	c := agentproc.NewCluster(agentproc.ClusterConfig{Bin: binary(t), Args: []string{"--log-level", "info"}})
	var agents []*agent
	t.Cleanup(func() {
		c.Shutdown(syscall.SIGTERM)
		if t.Failed() {
			for _, a := range agents {
				t.Logf("--- %s output ---\n%s", a.name, a.Output())
			}
		}
	})
	for _, name := range []string{"a", "b", "c"} {
		p, err := c.Start(context.Background(), name, "", "")
		if err != nil {
			t.Fatalf("start %s: %v", name, err)
		}
		agents = append(agents, &agent{Proc: p, name: name, http: p.HTTP, gossip: p.Gossip})
	}
	if err := c.WaitReady(context.Background(), 15*time.Second); err != nil {
		t.Fatal(err)
	}
	return agents
}

// sigkill kills the agent and waits for it to be gone.
func (a *agent) sigkill(t *testing.T) {
	t.Helper()
	a.Signal(syscall.SIGKILL)
	select {
	case <-a.Done():
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
