package agent_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/internal/await"
)

func TestDebugFaults_offByDefault(t *testing.T) {
	_, base := startNode(t)
	if code, _ := do(t, http.MethodPut, base+"/debug/faults", "application/json", `{"block":["x"]}`); code != http.StatusNotFound {
		t.Fatalf("debug faults without the flag: got %d, want 404", code)
	}
}

func TestDebugFaults_partitionAndHeal(t *testing.T) {
	tc := agenttest.NewCluster(t, 2, func(c *agent.Config) { c.DebugFaults = true })
	n0, n1 := tc.Agent("n0"), tc.Agent("n1")
	for _, p := range []struct {
		n    *agent.Agent
		peer string
	}{{n0, "n1"}, {n1, "n0"}} {
		code, body := do(t, http.MethodPut, base(p.n)+"/debug/faults", "application/json", `{"block":["`+p.peer+`"]}`)
		if code != 200 || body != `{"block":["`+p.peer+`"]}` {
			t.Fatalf("block: %d %s", code, body)
		}
	}
	// Each side declares the other dead on its own schedule (about a
	// second; Lifeguard stretches it on a loaded machine).
	alone := func(n *agent.Agent) bool { return n.Node().Ring().Len() == 1 }
	cut := time.Now()
	await.True(t, 15*time.Second, "each side alone", func() bool { return alone(n0) && alone(n1) })
	t.Logf("each side alone %v after the cut", time.Since(cut).Round(time.Millisecond))
	// The cut holds: gossip keeps dialling the dead member's address to
	// reconnect (every 200 ms here), and the fault must stop that too.
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if !alone(n0) || !alone(n1) {
			t.Fatalf("the partition healed by itself: n0 sees %d, n1 sees %d members", n0.Node().Ring().Len(), n1.Node().Ring().Len())
		}
	}
	for _, n := range []*agent.Agent{n0, n1} {
		if code, body := do(t, http.MethodPut, base(n)+"/debug/faults", "application/json", `{"block":[]}`); code != 200 || body != `{"block":[]}` {
			t.Fatalf("heal: %d %s", code, body)
		}
	}
	healed := time.Now()
	tc.WaitConverged(20 * time.Second)
	t.Logf("converged %v after healing", time.Since(healed).Round(time.Millisecond))
}
