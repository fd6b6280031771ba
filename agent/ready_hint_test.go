package agent_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/internal/await"
)

// A node that becomes ready tells its peers at once: n1 joins n0, and n0
// receives n1's announcement. (Gossip also says n1 is ready here, so the
// membership loop may drop the hint at once; the count shows it arrived.)
func TestCluster_readyHintReachesPeers(t *testing.T) {
	tc := agenttest.NewCluster(t, 2)
	n0 := tc.Agent("n0")
	await.True(t, 5*time.Second, "n1's ready announcement reached n0", func() bool {
		return n0.Node().Stats().ReadyHints >= 1
	})
	// The route refuses a caller that is not a member.
	code, _ := do(t, http.MethodPost, base(n0)+"/internal/v1/ready", "", "")
	if code != http.StatusForbidden && code != http.StatusUnauthorized {
		t.Fatalf("ready from a non-member: %d, want 403 or 401", code)
	}
}
