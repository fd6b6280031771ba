package agent_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/internal/await"
	"github.com/roster-io/roster/store"
)

// TestCluster_silentInstanceExpiresDespiteOwnerRestarts kills the owner of
// a silent instance's service and starts it again at once on the same
// addresses, before the others notice the death, twice (the chaos
// suite's crashloop). The restarted owner takes the service back: it must
// count the instance's expiry from its last beat, as the owner in
// between reported it, not give it a fresh timeout from its return.
func TestCluster_silentInstanceExpiresDespiteOwnerRestarts(t *testing.T) {
	const svc = "restarting"
	const deleteTimeout = 5 * time.Second
	tc := agenttest.NewCluster(t, 4)
	md := `{"preserved.heart.beat.interval":"500","preserved.heart.beat.timeout":"1000","preserved.ip.delete.timeout":"5000"}`
	any := tc.Agents()[0]
	if code, body := nacos(t, base(any), http.MethodPost, "instance", vals("serviceName", svc, "ip", "10.0.0.1", "port", "80", "metadata", md)); code != 200 {
		t.Fatalf("register: %d %s", code, body)
	}
	waitListed(t, tc, svc, "10.0.0.1")
	lastBeat := time.Now() // the registration is its last beat

	var returns []time.Time
	restart := func() {
		owner, _ := ownerAndOther(tc, svc)
		name, httpAddr, gossipAddr := owner.Node().Name(), owner.Addr(), owner.GossipAddr()
		tc.Kill(name)
		a := tc.Start(name, func(c *agent.Config) { c.HTTPAddr, c.GossipAddr = httpAddr, gossipAddr })
		await.True(t, 10*time.Second, name+" ready and owning "+svc+" again", func() bool {
			m, ok := a.Node().Owner(keyOf(svc))
			return a.Node().Ready() && ok && m.Name == name
		})
		returns = append(returns, time.Now())
		t.Logf("%s back and owning %s %v after the last beat", name, svc, time.Since(lastBeat).Round(time.Millisecond))
	}
	// Let the owner list the instance as quiet (store.QuietAfter, 750 ms)
	// and report it before each restart.
	time.Sleep(1500 * time.Millisecond)
	restart()
	time.Sleep(1500 * time.Millisecond)
	restart()

	limit := lastBeat.Add(deleteTimeout)
	if t2 := returns[len(returns)-1].Add(store.MinTakeoverGrace); t2.After(limit) {
		limit = t2
	}
	limit = limit.Add(700 * time.Millisecond) // polling, replication and the sweeper
	var gone time.Time
	await.True(t, 15*time.Second, "silent instance gone from every node", func() bool {
		for _, n := range tc.Agents() {
			if code, _ := nacos(t, base(n), http.MethodGet, "instance", vals("serviceName", svc, "ip", "10.0.0.1", "port", "80")); code != http.StatusNotFound {
				return false
			}
		}
		gone = time.Now()
		return true
	})
	t.Logf("gone everywhere %v after the last beat (limit %v)", gone.Sub(lastBeat).Round(time.Millisecond), limit.Sub(lastBeat).Round(time.Millisecond))
	if gone.After(limit) {
		t.Fatalf("silent instance gone from every node %v after its last beat, want by %v",
			gone.Sub(lastBeat).Round(time.Millisecond), limit.Sub(lastBeat).Round(time.Millisecond))
	}
}
