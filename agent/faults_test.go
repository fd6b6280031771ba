package agent

import (
	"net/http"
	"testing"
	"time"
)

func TestDebugFaults_offByDefault(t *testing.T) {
	_, base := startNode(t)
	if code, _ := do(t, http.MethodPut, base+"/debug/faults", "application/json", `{"block":["x"]}`); code != http.StatusNotFound {
		t.Fatalf("debug faults without the flag: got %d, want 404", code)
	}
}

func TestDebugFaults_partitionAndHeal(t *testing.T) {
	tc := newTestCluster(t, 2, func(c *Config) { c.DebugFaults = true })
	n0, n1 := tc.node("n0"), tc.node("n1")
	for _, p := range []struct {
		n    *Agent
		peer string
	}{{n0, "n1"}, {n1, "n0"}} {
		code, body := do(t, http.MethodPut, base(p.n)+"/debug/faults", "application/json", `{"block":["`+p.peer+`"]}`)
		if code != 200 || body != `{"block":["`+p.peer+`"]}` {
			t.Fatalf("block: %d %s", code, body)
		}
	}
	eventually(t, 5*time.Second, "each side alone", func() bool { return n0.node.Ring().Len() == 1 && n1.node.Ring().Len() == 1 })
	for _, n := range []*Agent{n0, n1} {
		if code, body := do(t, http.MethodPut, base(n)+"/debug/faults", "application/json", `{"block":[]}`); code != 200 || body != `{"block":[]}` {
			t.Fatalf("heal: %d %s", code, body)
		}
	}
	tc.waitConverged(10 * time.Second)
}
