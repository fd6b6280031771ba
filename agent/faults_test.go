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
	await.True(t, 5*time.Second, "each side alone", func() bool { return n0.Node().Ring().Len() == 1 && n1.Node().Ring().Len() == 1 })
	for _, n := range []*agent.Agent{n0, n1} {
		if code, body := do(t, http.MethodPut, base(n)+"/debug/faults", "application/json", `{"block":[]}`); code != 200 || body != `{"block":[]}` {
			t.Fatalf("heal: %d %s", code, body)
		}
	}
	tc.WaitConverged(10 * time.Second)
}
