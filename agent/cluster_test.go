package agent

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// testCluster is a set of in-process nodes on loopback with fast gossip.
type testCluster struct {
	tb    testing.TB
	mu    sync.Mutex
	nodes map[string]*Agent
	cut   map[[2]string]bool // cut[from,to]: from cannot send to to
	seed  string
	// gossipNames maps gossip addresses to node names.
	gossipNames map[string]string
}

// newTestCluster starts size nodes named n0, n1, ... joined through n0.
func newTestCluster(t *testing.T, size int, mutate ...func(*Config)) *testCluster {
	t.Helper()
	tc := &testCluster{tb: t, nodes: map[string]*Agent{}, cut: map[[2]string]bool{}, gossipNames: map[string]string{}}
	for i := 0; i < size; i++ {
		tc.start(fmt.Sprintf("n%d", i), mutate...)
	}
	tc.waitConverged(10 * time.Second)
	return tc
}

// start starts (or restarts) node name.
func (tc *testCluster) start(name string, mutate ...func(*Config)) *Agent {
	t := tc.tb
	t.Helper()
	cfg := DefaultLocalConfig()
	cfg.Name = name
	cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: testLogLevel()})).With("node", name)
	if tc.seed != "" {
		cfg.Join = []string{tc.seed}
	}
	cfg.AllowPeer = func(to string) bool {
		tc.mu.Lock()
		defer tc.mu.Unlock()
		return !tc.cut[[2]string{name, to}]
	}
	cfg.AllowGossipAddr = func(addr string) bool {
		tc.mu.Lock()
		defer tc.mu.Unlock()
		return !tc.cut[[2]string{name, tc.gossipNames[addr]}]
	}
	for _, m := range mutate {
		m(&cfg)
	}
	n, err := New(cfg)
	if err != nil {
		t.Fatalf("New %s: %v", name, err)
	}
	if err := n.Start(); err != nil {
		t.Fatalf("Start %s: %v", name, err)
	}
	tc.mu.Lock()
	if tc.seed == "" {
		tc.seed = n.GossipAddr()
	}
	tc.nodes[name] = n
	tc.gossipNames[n.GossipAddr()] = name
	tc.mu.Unlock()
	t.Cleanup(func() { tc.stop(n) })
	return n
}

// testLogLevel is warn, or what ROSTER_TEST_LOG says (debug, info).
func testLogLevel() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(os.Getenv("ROSTER_TEST_LOG"))); err != nil {
		return slog.LevelWarn
	}
	return l
}

// stop shuts n down gracefully (idempotent).
func (tc *testCluster) stop(n *Agent) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	err := n.Shutdown(ctx)
	if el := time.Since(start); el > 2*time.Second || err != nil {
		tc.tb.Logf("shutdown of %s took %v: %v", n.cfg.Name, el, err)
	}
}

// kill stops node name without a goodbye, as SIGKILL would: no Leave, no
// flush; its sockets close.
func (tc *testCluster) kill(name string) {
	tc.mu.Lock()
	n := tc.nodes[name]
	delete(tc.nodes, name)
	tc.mu.Unlock()
	n.crash()
}

// partition cuts the network between sides a and b, both ways.
func (tc *testCluster) partition(a, b []string) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	for _, x := range a {
		for _, y := range b {
			tc.cut[[2]string{x, y}] = true
			tc.cut[[2]string{y, x}] = true
		}
	}
}

// heal restores the whole network.
func (tc *testCluster) heal() {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	tc.cut = map[[2]string]bool{}
}

// node returns a live node by name.
func (tc *testCluster) node(name string) *Agent {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	return tc.nodes[name]
}

// live returns the live nodes.
func (tc *testCluster) live() []*Agent {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	var out []*Agent
	for _, n := range tc.nodes {
		out = append(out, n)
	}
	return out
}

// waitConverged waits until every live node is ready and sees every live
// node as a ready member in its ring.
func (tc *testCluster) waitConverged(within time.Duration) {
	tc.tb.Helper()
	eventually(tc.tb, within, "cluster converged", func() bool {
		live := tc.live()
		for _, n := range live {
			if !n.Ready() || n.node.Ring().Len() != len(live) {
				return false
			}
		}
		return true
	})
}

// base returns the HTTP base URL of a node.
func base(n *Agent) string { return "http://" + n.Addr() }

func TestCluster_joinReplicateOwners(t *testing.T) {
	tc := newTestCluster(t, 3)
	n0 := tc.node("n0")
	code, body := nacos(t, base(n0), http.MethodPost, "instance", vals("serviceName", "orders", "ip", "10.0.0.1", "port", "80"))
	if code != 200 {
		t.Fatalf("register: %d %s", code, body)
	}
	start := time.Now()
	for _, n := range tc.live() {
		eventually(t, time.Second, "instance replicated to "+n.cfg.Name, func() bool {
			return len(list(t, base(n), vals("serviceName", "orders")).Hosts) == 1
		})
	}
	t.Logf("replicated to all in %v", time.Since(start))
	// Every node computes the same owner for every service.
	for i := 0; i < 200; i++ {
		k := keyOf(fmt.Sprintf("svc-%d", i))
		want, _ := n0.node.Ring().Owner(k.String())
		for _, n := range tc.live() {
			if got, _ := n.node.Ring().Owner(k.String()); got.Name != want.Name {
				t.Fatalf("owner of %s: %s says %s, n0 says %s", k, n.cfg.Name, got.Name, want.Name)
			}
		}
	}
	// The cluster views agree.
	code, body = do(t, http.MethodGet, base(n0)+"/v1/cluster/members", "", "")
	if code != 200 || strings.Count(body, `"state":"alive"`) != 3 {
		t.Fatalf("members: %d %s", code, body)
	}
	code, body = do(t, http.MethodGet, base(n0)+"/v1/cluster/owner?service=orders", "", "")
	want, _ := n0.node.Ring().Owner(keyOf("orders").String())
	if code != 200 || !strings.Contains(body, `"owner":"`+want.Name+`"`) || !strings.Contains(body, `"partition":`) {
		t.Fatalf("owner: %d %s", code, body)
	}
}

// waitListed waits until every live node lists ip in service svc.
func (tc *testCluster) waitListed(svc, ip string) {
	tc.tb.Helper()
	for _, n := range tc.live() {
		eventually(tc.tb, 2*time.Second, ip+" listed on "+n.cfg.Name, func() bool {
			code, _ := nacos(tc.tb, base(n), http.MethodGet, "instance", vals("serviceName", svc, "ip", ip, "port", "80"))
			return code == http.StatusOK
		})
	}
}

// ownerAndOther returns the owner of service s and one other live node.
func (tc *testCluster) ownerAndOther(s string) (owner, other *Agent) {
	any := tc.live()[0]
	m, _ := any.node.Ring().Owner(keyOf(s).String())
	owner = tc.node(m.Name)
	for _, n := range tc.live() {
		if n != owner {
			return owner, n
		}
	}
	return owner, nil
}

func TestCluster_beatsRoutedToOwnerKeepInstanceAlive(t *testing.T) {
	tc := newTestCluster(t, 3)
	owner, other := tc.ownerAndOther("routed")
	md := `{"preserved.heart.beat.timeout":"400","preserved.ip.delete.timeout":"800"}`
	if code, body := nacos(t, base(other), http.MethodPost, "instance", vals("serviceName", "routed", "ip", "10.0.0.1", "port", "80", "metadata", md)); code != 200 {
		t.Fatalf("register: %d %s", code, body)
	}
	tc.waitListed("routed", "10.0.0.1")
	// Beat only through a node that is not the owner, for 3 timeouts.
	end := time.Now().Add(1200 * time.Millisecond)
	for time.Now().Before(end) {
		code, body := nacos(t, base(other), http.MethodPut, "instance/beat", vals("serviceName", "routed", "ip", "10.0.0.1", "port", "80"))
		if code != 200 || !strings.Contains(body, `"code":10200`) {
			t.Fatalf("beat via %s: %d %s", other.cfg.Name, code, body)
		}
		for _, n := range tc.live() {
			if _, body := nacos(t, base(n), http.MethodGet, "instance", vals("serviceName", "routed", "ip", "10.0.0.1", "port", "80")); !strings.Contains(body, `"healthy":true`) {
				t.Fatalf("beating instance on %s (owner %s): %s", n.cfg.Name, owner.cfg.Name, body)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Beats stop: the owner expires it, and every node follows.
	for _, n := range tc.live() {
		eventually(t, 3*time.Second, "expiry seen on "+n.cfg.Name, func() bool {
			code, _ := nacos(t, base(n), http.MethodGet, "instance", vals("serviceName", "routed", "ip", "10.0.0.1", "port", "80"))
			return code == http.StatusNotFound
		})
	}
}

func TestCluster_killOwner(t *testing.T) {
	tc := newTestCluster(t, 3)
	owner, other := tc.ownerAndOther("victim")
	md := `{"preserved.heart.beat.timeout":"600","preserved.ip.delete.timeout":"1200"}`
	// Registered through the owner: acknowledged means a second node has it.
	if code, body := nacos(t, base(owner), http.MethodPost, "instance", vals("serviceName", "victim", "ip", "10.0.0.1", "port", "80", "metadata", md)); code != 200 {
		t.Fatalf("register: %d %s", code, body)
	}
	if code, body := nacos(t, base(owner), http.MethodPost, "instance", vals("serviceName", "victim", "ip", "10.0.0.2", "port", "80", "metadata", md)); code != 200 {
		t.Fatalf("register: %d %s", code, body)
	}
	// Acknowledged writes are on two nodes at once and on all within 1 s.
	tc.waitListed("victim", "10.0.0.1")
	tc.waitListed("victim", "10.0.0.2")
	tc.kill(owner.cfg.Name)
	killed := time.Now()
	// 10.0.0.1 keeps beating through a survivor; 10.0.0.2 stops.
	deadline := killed.Add(6 * time.Second)
	var gone time.Time
	for time.Now().Before(deadline) {
		code, body := nacos(t, base(other), http.MethodPut, "instance/beat", vals("serviceName", "victim", "ip", "10.0.0.1", "port", "80"))
		if code != 200 || !strings.Contains(body, `"code":10200`) {
			t.Fatalf("beat after owner death: %d %s", code, body)
		}
		for _, n := range tc.live() {
			if _, body := nacos(t, base(n), http.MethodGet, "instance", vals("serviceName", "victim", "ip", "10.0.0.1", "port", "80")); !strings.Contains(body, `"healthy":true`) {
				t.Fatalf("beating instance on %s after owner death: %s", n.cfg.Name, body)
			}
		}
		allGone := true
		for _, n := range tc.live() {
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
