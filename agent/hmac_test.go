package agent_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/internal/await"
	"github.com/roster-io/roster/internal/freeport"
	"github.com/roster-io/roster/peer"
)

// testSecret is the cluster secret of the keyed test clusters.
var testSecret = bytes.Repeat([]byte("s"), 32)

func withSecret(c *agent.Config) { c.GossipKey = testSecret }

// TestInternal_keyedClusterReplicates checks that a cluster whose gossip
// is encrypted and whose internal traffic is signed syncs, replicates and
// hands off beats as usual.
func TestInternal_keyedClusterReplicates(t *testing.T) {
	tc := agenttest.NewCluster(t, 3, withSecret)
	owner, other := ownerAndOther(tc, "keyed")
	if code, body := nacos(t, base(other), http.MethodPost, "instance", vals("serviceName", "keyed", "ip", "10.0.0.1", "port", "80")); code != 200 {
		t.Fatalf("register: %d %s", code, body)
	}
	waitListed(t, tc, "keyed", "10.0.0.1")
	code, body := nacos(t, base(other), http.MethodPut, "instance/beat", vals("serviceName", "keyed", "ip", "10.0.0.1", "port", "80"))
	if code != 200 || !strings.Contains(body, `"code":10200`) {
		t.Fatalf("beat through a non-owner: %d %s", code, body)
	}
	if got := other.Node().Stats().HandoffBeats; got == 0 {
		t.Fatalf("beat was not handed off to the owner %s", owner.Node().Name())
	}
	// A node restarted with empty memory pulls the registry (signed dump).
	name := other.Node().Name()
	tc.Kill(name)
	tc.Start(name, withSecret)
	tc.WaitConverged(10 * time.Second)
	waitListed(t, tc, "keyed", "10.0.0.1")
}

// signedDelta is an internal deltas request body that would add an
// instance.
const signedDelta = `{"records":[{"key":{"namespace":"public","group":"g","service":"forged"},"instance":{"cluster":"DEFAULT","ip":"10.9.9.9","port":1,"weight":1,"enabled":true,"ephemeral":false,"beatInterval":5000000000,"beatTimeout":15000000000,"deleteTimeout":30000000000,"version":{"clock":%d,"node":"n1"}}}]}`

// TestInternal_forgedRequestsRejected sends internal requests that name a
// real member from its own host, so only the signature stands between
// them and the registry: unsigned, signed with another key, stale,
// replayed and with a swapped body. Each gets 401 and changes nothing.
func TestInternal_forgedRequestsRejected(t *testing.T) {
	tc := agenttest.NewCluster(t, 2, withSecret)
	n0 := tc.Agent("n0")
	url := base(n0) + "/internal/v1/deltas"
	clock := strconv.FormatInt(time.Now().UnixNano(), 10) // a version of now: nothing else stops it
	body := func() []byte {
		return []byte(strings.Replace(signedDelta, "%d", clock, 1))
	}
	send := func(req *http.Request) int {
		t.Helper()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	newReq := func(b []byte) *http.Request {
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
		req.Header.Set(peer.NodeHeader, "n1")
		req.Header.Set("Content-Type", "application/json")
		return req
	}
	before := n0.Node().Store().Index()
	cases := []struct {
		name string
		req  func() *http.Request
	}{
		{"unsigned", func() *http.Request { return newReq(body()) }},
		{"wrong key", func() *http.Request {
			r := newReq(body())
			peer.SignRequest(r, bytes.Repeat([]byte("x"), 32), "n1", body(), time.Now())
			return r
		}},
		{"stale timestamp", func() *http.Request {
			r := newReq(body())
			peer.SignRequest(r, testSecret, "n1", body(), time.Now().Add(-2*time.Minute))
			return r
		}},
		{"future timestamp", func() *http.Request {
			r := newReq(body())
			peer.SignRequest(r, testSecret, "n1", body(), time.Now().Add(2*time.Minute))
			return r
		}},
		{"body swapped", func() *http.Request {
			r := newReq(body())
			peer.SignRequest(r, testSecret, "n1", []byte(`{"records":[]}`), time.Now())
			return r
		}},
		{"signed as another node", func() *http.Request {
			r := newReq(body())
			peer.SignRequest(r, testSecret, "n0", body(), time.Now())
			return r
		}},
	}
	for _, c := range cases {
		if got := send(c.req()); got != http.StatusUnauthorized {
			t.Errorf("%s: got %d, want 401", c.name, got)
		}
	}
	if n0.Node().Store().Index() != before {
		t.Fatal("a rejected internal request changed the registry")
	}

	// A correctly signed request is applied once; the same bytes replayed
	// (within the clock-skew window) are refused.
	good := newReq(body())
	peer.SignRequest(good, testSecret, "n1", body(), time.Now())
	replay := newReq(body())
	replay.Header = good.Header.Clone()
	if got := send(good); got != http.StatusOK {
		t.Fatalf("signed request: got %d, want 200", got)
	}
	applied := n0.Node().Store().Index()
	if applied == before {
		t.Fatal("the signed request changed nothing; the test proves nothing")
	}
	if got := send(replay); got != http.StatusUnauthorized {
		t.Fatalf("replayed request: got %d, want 401", got)
	}
	if n0.Node().Store().Index() != applied {
		t.Fatal("a replayed internal request changed the registry")
	}
}

// TestCluster_otherGossipKeyCannotJoin checks the node wires GossipKey
// into gossip: a node with another key, pointed at the cluster, is refused,
// and so never turns ready (it would answer reads from an empty registry
// it never synced), while the cluster never counts it.
func TestCluster_otherGossipKeyCannotJoin(t *testing.T) {
	tc := agenttest.NewCluster(t, 2, withSecret)
	odd := tc.Start("odd", func(c *agent.Config) { c.GossipKey = bytes.Repeat([]byte("o"), 32) })
	// Join attempts repeat every ≤250 ms (local profile); watch for 1.5 s,
	// past the sync grace (300 ms) and the join timeout (1 s).
	end := time.Now().Add(1500 * time.Millisecond)
	for time.Now().Before(end) {
		if odd.Ready() {
			t.Fatal("a node whose join was refused turned ready")
		}
		if got := len(odd.Node().Members()); got > 1 {
			t.Fatalf("node with another key sees %d members, want itself alone", got)
		}
		for _, name := range []string{"n0", "n1"} {
			if got := len(tc.Agent(name).Node().Members()); got != 2 {
				t.Fatalf("%s sees %d members, want 2 (the other key must not join)", name, got)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	code, body := do(t, http.MethodGet, base(odd)+"/nacos/v1/ns/instance/list?serviceName=s", "", "")
	if code != http.StatusServiceUnavailable {
		t.Fatalf("list on the refused node: got %d %s, want 503", code, body)
	}
}

// TestCluster_silentSeedsStartANewClusterAfterJoinTimeout: a node whose
// seeds do not answer at all (nothing listens there) starts a new cluster,
// but only once JoinTimeout has passed.
func TestCluster_silentSeedsStartANewClusterAfterJoinTimeout(t *testing.T) {
	port, err := freeport.TCPUDP()
	if err != nil {
		t.Fatal(err)
	}
	silent := fmt.Sprintf("127.0.0.1:%d", port)
	start := time.Now()
	n, _ := startNode(t, func(c *agent.Config) { c.Join, c.JoinTimeout = []string{silent}, 700*time.Millisecond })
	if el := time.Since(start); el < 700*time.Millisecond {
		t.Fatalf("ready %v after start with silent seeds, want no sooner than the 700ms join timeout", el)
	}
	if !n.Ready() {
		t.Fatal("not ready")
	}
}

// TestCluster_coldStartWithEveryoneAsSeeds: a whole cluster started at
// once, each node naming the others as seeds, comes up: the nodes join
// each other, none holds the registry, and after the sync grace they all
// start together.
func TestCluster_coldStartWithEveryoneAsSeeds(t *testing.T) {
	var addrs []string
	for range 3 {
		port, err := freeport.TCPUDP()
		if err != nil {
			t.Fatal(err)
		}
		addrs = append(addrs, fmt.Sprintf("127.0.0.1:%d", port))
	}
	agents := make([]*agent.Agent, 3)
	for i := range agents { // started back to back; none waits for another
		c := agent.DefaultLocalConfig()
		c.Name, c.GossipAddr, c.Logger = fmt.Sprintf("cold%d", i), addrs[i], agenttest.Logger(t, fmt.Sprintf("cold%d", i))
		c.Join = slices.Concat(addrs[:i], addrs[i+1:])
		a, err := agent.New(c)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = a.Shutdown(context.Background()) })
		agents[i] = a
	}
	await.True(t, 10*time.Second, "all three in every ring", func() bool {
		for _, a := range agents {
			if !a.Ready() || a.Node().Ring().Len() != 3 {
				return false
			}
		}
		return true
	})
}
