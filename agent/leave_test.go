package agent_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/internal/await"
)

// TestAgent_leaveThenShutdown checks Leave apart from Shutdown: a node
// that has left refuses writes and reports not ready, but still answers
// reads, while its peers drop it from the ring; Shutdown then stops it.
func TestAgent_leaveThenShutdown(t *testing.T) {
	tc := agenttest.NewCluster(t, 2)
	n0, n1 := tc.Agent("n0"), tc.Agent("n1")
	if code, body := nacos(t, base(n1), http.MethodPost, "instance", vals("serviceName", "stay", "ip", "10.0.0.1", "port", "80")); code != 200 {
		t.Fatalf("register: %d %s", code, body)
	}
	n1.Leave(t.Context())
	if code, body := do(t, http.MethodGet, base(n1)+"/readyz", "", ""); code != http.StatusServiceUnavailable || !strings.Contains(body, "leaving") {
		t.Fatalf("readyz after Leave: %d %s, want 503 leaving", code, body)
	}
	if code, body := nacos(t, base(n1), http.MethodPost, "instance", vals("serviceName", "stay", "ip", "10.0.0.2", "port", "80")); code != http.StatusServiceUnavailable {
		t.Fatalf("write after Leave: %d %s, want 503", code, body)
	}
	if l := list(t, base(n1), vals("serviceName", "stay")); len(l.Hosts) != 1 {
		t.Fatalf("read after Leave: %d hosts, want 1", len(l.Hosts))
	}
	await.True(t, 5*time.Second, "n0 drops n1 from its ring", func() bool { return n0.Node().Ring().Len() == 1 })
	tc.Stop("n1")
	if _, err := http.Get(base(n1) + "/healthz"); err == nil {
		t.Fatal("n1 still serves after Shutdown")
	}
}
