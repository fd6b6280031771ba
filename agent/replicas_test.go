package agent_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/internal/await"
)

// TestCluster_unconfirmedWriteAnsweredAsHeldHere cuts n0's requests to its
// peer (its gossip still flows, so n0 knows it has a peer) and checks that
// a write no peer confirms in time is answered for what happened: done
// (200), held by one node (X-Roster-Replicas: 1), on n0 at once and on n1
// once the cut heals. A write a peer confirmed says 2.
func TestCluster_unconfirmedWriteAnsweredAsHeldHere(t *testing.T) {
	var cut atomic.Bool
	tc := agenttest.NewCluster(t, 2, func(c *agent.Config) {
		c.ReplicationTimeout = 300 * time.Millisecond
		if c.Name == "n0" {
			allow := c.AllowPeer
			c.AllowPeer = func(to string) bool { return !cut.Load() && allow(to) }
		}
	})
	n0, n1 := tc.Agent("n0"), tc.Agent("n1")
	reg := func(ip string) (int, string, string) {
		req, err := http.NewRequest(http.MethodPost, base(n0)+"/nacos/v1/ns/instance?serviceName=held&port=80&ephemeral=false&ip="+ip, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 512)
		n, _ := resp.Body.Read(buf)
		b.Write(buf[:n])
		return resp.StatusCode, resp.Header.Get("X-Roster-Replicas"), b.String()
	}
	if code, reps, body := reg("10.0.0.2"); code != 200 || reps != "2" {
		t.Fatalf("register with a reachable peer: %d, replicas %q, %s; want 200 and 2", code, reps, body)
	}
	cut.Store(true)
	if code, reps, body := reg("10.0.0.1"); code != 200 || reps != "1" {
		t.Fatalf("register without a peer's confirmation: %d, replicas %q, %s; want 200 and 1", code, reps, body)
	}
	state := func(a *agent.Agent, ip string) int {
		code, _ := nacos(t, base(a), http.MethodGet, "instance", vals("serviceName", "held", "ip", ip, "port", "80"))
		return code
	}
	if got := state(n0, "10.0.0.1"); got != 200 {
		t.Errorf("the write answered as held on n0 is not there: GET answered %d", got)
	}
	cut.Store(false)
	await.True(t, 3*time.Second, "the write held on n0 spread to n1", func() bool { return state(n1, "10.0.0.1") == 200 })
}
