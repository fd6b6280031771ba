package agent_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/internal/await"
)

// base returns the HTTP base URL of a node.
func base(n *agent.Agent) string { return "http://" + n.Addr() }

func TestCluster_joinReplicateOwners(t *testing.T) {
	tc := agenttest.NewCluster(t, 3)
	n0 := tc.Agent("n0")
	code, body := nacos(t, base(n0), http.MethodPost, "instance", vals("serviceName", "orders", "ip", "10.0.0.1", "port", "80"))
	if code != 200 {
		t.Fatalf("register: %d %s", code, body)
	}
	start := time.Now()
	for _, n := range tc.Agents() {
		await.True(t, time.Second, "instance replicated to "+n.Node().Name(), func() bool {
			return len(list(t, base(n), vals("serviceName", "orders")).Hosts) == 1
		})
	}
	t.Logf("replicated to all in %v", time.Since(start))
	// Every node computes the same owner for every service.
	for i := 0; i < 200; i++ {
		k := keyOf(fmt.Sprintf("svc-%d", i))
		want, _ := n0.Node().Ring().Owner(k.String())
		for _, n := range tc.Agents() {
			if got, _ := n.Node().Ring().Owner(k.String()); got.Name != want.Name {
				t.Fatalf("owner of %s: %s says %s, n0 says %s", k, n.Node().Name(), got.Name, want.Name)
			}
		}
	}
	// The cluster views agree.
	code, body = do(t, http.MethodGet, base(n0)+"/v1/cluster/members", "", "")
	if code != 200 || strings.Count(body, `"state":"alive"`) != 3 {
		t.Fatalf("members: %d %s", code, body)
	}
	code, body = do(t, http.MethodGet, base(n0)+"/v1/cluster/owner?service=orders", "", "")
	want, _ := n0.Node().Ring().Owner(keyOf("orders").String())
	if code != 200 || !strings.Contains(body, `"owner":"`+want.Name+`"`) || !strings.Contains(body, `"partition":`) {
		t.Fatalf("owner: %d %s", code, body)
	}
}

// waitListed waits until every live node lists ip in service svc.
func waitListed(t testing.TB, tc *agenttest.Cluster, svc, ip string) {
	t.Helper()
	for _, n := range tc.Agents() {
		await.True(t, 10*time.Second, ip+" listed on "+n.Node().Name(), func() bool {
			code, _ := nacos(t, base(n), http.MethodGet, "instance", vals("serviceName", svc, "ip", ip, "port", "80"))
			return code == http.StatusOK
		})
	}
}

// ownerAndOther returns the owner of service s and one other live node.
func ownerAndOther(tc *agenttest.Cluster, s string) (owner, other *agent.Agent) {
	any := tc.Agents()[0]
	m, _ := any.Node().Ring().Owner(keyOf(s).String())
	owner = tc.Agent(m.Name)
	for _, n := range tc.Agents() {
		if n != owner {
			return owner, n
		}
	}
	return owner, nil
}

func TestCluster_beatsRoutedToOwnerKeepInstanceAlive(t *testing.T) {
	tc := agenttest.NewCluster(t, 3)
	owner, other := ownerAndOther(tc, "routed")
	md := `{"preserved.heart.beat.timeout":"400","preserved.ip.delete.timeout":"800"}`
	if code, body := nacos(t, base(other), http.MethodPost, "instance", vals("serviceName", "routed", "ip", "10.0.0.1", "port", "80", "metadata", md)); code != 200 {
		t.Fatalf("register: %d %s", code, body)
	}
	waitListed(t, tc, "routed", "10.0.0.1")
	// Beat only through a node that is not the owner, for 3 timeouts.
	end := time.Now().Add(1200 * time.Millisecond)
	for time.Now().Before(end) {
		code, body := nacos(t, base(other), http.MethodPut, "instance/beat", vals("serviceName", "routed", "ip", "10.0.0.1", "port", "80"))
		if code != 200 || !strings.Contains(body, `"code":10200`) {
			t.Fatalf("beat via %s: %d %s", other.Node().Name(), code, body)
		}
		for _, n := range tc.Agents() {
			if _, body := nacos(t, base(n), http.MethodGet, "instance", vals("serviceName", "routed", "ip", "10.0.0.1", "port", "80")); !strings.Contains(body, `"healthy":true`) {
				t.Fatalf("beating instance on %s (owner %s): %s", n.Node().Name(), owner.Node().Name(), body)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Beats stop: the owner expires it, and every node follows.
	for _, n := range tc.Agents() {
		await.True(t, 3*time.Second, "expiry seen on "+n.Node().Name(), func() bool {
			code, _ := nacos(t, base(n), http.MethodGet, "instance", vals("serviceName", "routed", "ip", "10.0.0.1", "port", "80"))
			return code == http.StatusNotFound
		})
	}
}

func TestCluster_killOwner(t *testing.T) {
	tc := agenttest.NewCluster(t, 3)
	owner, other := ownerAndOther(tc, "victim")
	md := `{"preserved.heart.beat.timeout":"600","preserved.ip.delete.timeout":"1200"}`
	// Registered through the owner: acknowledged means a second node has it.
	if code, body := nacos(t, base(owner), http.MethodPost, "instance", vals("serviceName", "victim", "ip", "10.0.0.1", "port", "80", "metadata", md)); code != 200 {
		t.Fatalf("register: %d %s", code, body)
	}
	if code, body := nacos(t, base(owner), http.MethodPost, "instance", vals("serviceName", "victim", "ip", "10.0.0.2", "port", "80", "metadata", md)); code != 200 {
		t.Fatalf("register: %d %s", code, body)
	}
	// Acknowledged writes are on two nodes at once and on all within 1 s.
	waitListed(t, tc, "victim", "10.0.0.1")
	waitListed(t, tc, "victim", "10.0.0.2")
	tc.Kill(owner.Node().Name())
	killed := time.Now()
	// 10.0.0.1 keeps beating through a survivor; 10.0.0.2 stops.
	deadline := killed.Add(6 * time.Second)
	var gone time.Time
	for time.Now().Before(deadline) {
		code, body := nacos(t, base(other), http.MethodPut, "instance/beat", vals("serviceName", "victim", "ip", "10.0.0.1", "port", "80"))
		if code != 200 || !strings.Contains(body, `"code":10200`) {
			t.Fatalf("beat after owner death: %d %s", code, body)
		}
		for _, n := range tc.Agents() {
			if _, body := nacos(t, base(n), http.MethodGet, "instance", vals("serviceName", "victim", "ip", "10.0.0.1", "port", "80")); !strings.Contains(body, `"healthy":true`) {
				t.Fatalf("beating instance on %s after owner death: %s", n.Node().Name(), body)
			}
		}
		allGone := true
		for _, n := range tc.Agents() {
			if code, _ := nacos(t, base(n), http.MethodGet, "instance", vals("serviceName", "victim", "ip", "10.0.0.2", "port", "80")); code != http.StatusNotFound {
				allGone = false
			}
		}
		if allGone && gone.IsZero() {
			gone = time.Now()
		}
		if !gone.IsZero() && time.Since(killed) > 2500*time.Millisecond {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if gone.IsZero() {
		t.Fatalf("silent instance not expired on the survivors within %v of the owner's death", deadline.Sub(killed))
	}
	t.Logf("silent instance gone from every survivor %v after the owner was killed", gone.Sub(killed))
}
