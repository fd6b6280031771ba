package agent_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/internal/await"
)

// TestACLCluster_revokedRoleEnforcedOnEveryNodeWithinASecond grants a
// user a namespace through one node of three, sees every node let the
// user's token write there, revokes the role through another node and
// measures how long until every node refuses the same token.
func TestACLCluster_revokedRoleEnforcedOnEveryNodeWithinASecond(t *testing.T) {
	tc := agenttest.NewCluster(t, 3, withRoles(false, nil))
	n0, n2 := base(tc.Agent("n0")), base(tc.Agent("n2"))
	grant(t, n0, "alice", "alice-pass", "team-a", "team-a:*:*", "rw")
	tok := tokenOf(t, n0, "alice", "alice-pass")
	write := func(a *agent.Agent) int {
		code, _ := nacos(t, base(a), http.MethodPost, "instance",
			withToken(vals("namespaceId", "team-a", "serviceName", "s", "ip", "10.0.0.1", "port", "80"), tok))
		return code
	}
	await.Explain(t, 10*time.Second, "every node lets alice write team-a", func() (bool, string) {
		codes := []int{write(tc.Agent("n0")), write(tc.Agent("n1")), write(tc.Agent("n2"))}
		return codes[0] == 200 && codes[1] == 200 && codes[2] == 200, fmt.Sprint(codes)
	})

	start := time.Now()
	mustAuth(t, n2, http.MethodDelete, "roles", "role", "team-a", "username", "alice")
	await.Explain(t, 10*time.Second, "every node refuses alice", func() (bool, string) {
		codes := []int{write(tc.Agent("n0")), write(tc.Agent("n1")), write(tc.Agent("n2"))}
		return codes[0] == 403 && codes[1] == 403 && codes[2] == 403, fmt.Sprint(codes)
	})
	el := time.Since(start)
	t.Logf("revocation enforced on all three nodes after %v", el)
	if el > time.Second {
		t.Fatalf("revocation took %v to reach every node, want at most 1 s", el)
	}
}

// TestACLDurable_usersSurviveRestart creates a user, a role binding and a
// permission on a node with a data directory, kills it and starts it
// again on the directory: the user logs in with the same password and
// the permission holds.
func TestACLDurable_usersSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	solo := func(c *agent.Config) { c.Name, c.GossipAddr, c.DataDir = "solo", "", dir }
	a := agenttest.Start(t, withRoles(false, nil), solo)
	grant(t, agenttest.URL(a), "alice", "alice-pass", "team-a", "team-a:*:*", "rw")
	a.Kill()

	b := agenttest.Start(t, withRoles(false, nil), solo)
	u := agenttest.URL(b)
	tok := tokenOf(t, u, "alice", "alice-pass")
	if code, body := nacos(t, u, http.MethodPost, "instance", withToken(vals("namespaceId", "team-a", "serviceName", "s", "ip", "10.0.0.1", "port", "80"), tok)); code != 200 {
		t.Fatalf("alice writes team-a after the restart: %d %s", code, body)
	}
	if code, body := nacos(t, u, http.MethodPost, "instance", withToken(vals("serviceName", "s", "ip", "10.0.0.1", "port", "80"), tok)); code != 403 {
		t.Fatalf("alice writes public after the restart: %d %s", code, body)
	}
	if code, _, body := login(t, u, "alice", "wrong"); code != 403 {
		t.Fatalf("login with a wrong password: %d %s", code, body)
	}
}
