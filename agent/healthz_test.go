package agent_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/internal/await"
)

// TestHealthz_stuckNodeIsNotHealthy holds the registry's lock for 3 s, as
// a node that cannot make progress would, and checks that /healthz turns
// 503 with the reason while it lasts (StuckAfter is 300 ms here) and 200
// again after.
func TestHealthz_stuckNodeIsNotHealthy(t *testing.T) {
	a, base := startNode(t, func(c *agent.Config) { c.StuckAfter = 300 * time.Millisecond })
	if code, body := do(t, http.MethodGet, base+"/healthz", "", ""); code != 200 {
		t.Fatalf("healthz before: %d %s", code, body)
	}
	done := make(chan struct{})
	go func() { defer close(done); a.Node().Store().StallForTesting(3 * time.Second) }()
	await.True(t, 2800*time.Millisecond, "healthz 503 while the registry is stuck", func() bool {
		code, body := do(t, http.MethodGet, base+"/healthz", "", "")
		return code == http.StatusServiceUnavailable && strings.Contains(body, "stuck")
	})
	<-done
	await.True(t, 3*time.Second, "healthz 200 again", func() bool {
		code, _ := do(t, http.MethodGet, base+"/healthz", "", "")
		return code == 200
	})
}
