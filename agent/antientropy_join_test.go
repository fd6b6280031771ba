package agent_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/internal/await"
)

// TestCluster_healExchangesAtOnce partitions four nodes two and two with
// periodic anti-entropy all but off, writes on both sides, and heals:
// what either side wrote (a deregistration, a registration) reaches the
// other as soon as the members rejoin, because each node exchanges with
// the members that join ready without waiting for its periodic round.
// Replication cannot carry these writes (it does not resend what failed
// while the peers were cut), so only the join exchange can.
func TestCluster_healExchangesAtOnce(t *testing.T) {
	tc := agenttest.NewCluster(t, 4, func(c *agent.Config) {
		c.AntiEntropyInterval = time.Hour
		c.TombstoneTTL = time.Minute
	})
	reg := func(n *agent.Agent, ip string) {
		t.Helper()
		if code, body := nacos(t, base(n), http.MethodPost, "instance", vals("serviceName", "heal", "ip", ip, "port", "80", "ephemeral", "false")); code != 200 {
			t.Fatalf("register %s on %s: %d %s", ip, n.Node().Name(), code, body)
		}
	}
	reg(tc.Agent("n0"), "10.0.0.1")
	waitListed(t, tc, "heal", "10.0.0.1")
	tc.Partition([]string{"n0", "n1"}, []string{"n2", "n3"})
	await.True(t, 10*time.Second, "both sides see the other as gone", func() bool {
		for _, n := range tc.Agents() {
			if n.Node().Ring().Len() != 2 {
				return false
			}
		}
		return true
	})
	if code, body := nacos(t, base(tc.Agent("n1")), http.MethodDelete, "instance", vals("serviceName", "heal", "ip", "10.0.0.1", "port", "80", "ephemeral", "false")); code != 200 {
		t.Fatalf("deregister on side a: %d %s", code, body)
	}
	reg(tc.Agent("n3"), "10.0.0.2")
	tc.Heal()
	healed := time.Now()
	tc.WaitConverged(10 * time.Second)
	rejoined := time.Since(healed)
	for _, n := range tc.Agents() {
		await.True(t, 2*time.Second, "both sides' writes on "+n.Node().Name(), func() bool {
			l := list(t, base(n), vals("serviceName", "heal"))
			return len(l.Hosts) == 1 && l.Hosts[0].IP == "10.0.0.2"
		})
	}
	t.Logf("members rejoined %v after healing; every node held both sides' writes %v after", rejoined, time.Since(healed))
}
