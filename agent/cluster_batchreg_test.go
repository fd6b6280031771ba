package agent_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/api"
	"github.com/roster-io/roster/internal/await"
	"github.com/roster-io/roster/store"
)

// A batch of registrations is answered once a peer holds every instance
// of it (X-Roster-Replicas: 2, and at that moment another node lists them
// all), and spreads to every node. With its peers cut off, the node
// answers past the replication timeout as the only holder
// (X-Roster-Replicas: 1), and the batch spreads once the cut heals.
func TestCluster_registerBatchReplicatedBeforeAnswer(t *testing.T) {
	var cut atomic.Bool
	tc := agenttest.NewCluster(t, 3, func(c *agent.Config) {
		c.ReplicationTimeout = 300 * time.Millisecond
		if c.Name == "n0" {
			allow := c.AllowPeer
			c.AllowPeer = func(to string) bool { return !cut.Load() && allow(to) }
		}
	})
	tc.WaitConverged(10 * time.Second)
	n0 := tc.Agent("n0")
	const perBatch = 200
	batch := func(round int) (string, []store.InstanceKey) {
		items := make([]string, perBatch)
		iks := make([]store.InstanceKey, perBatch)
		for i := range items {
			items[i] = fmt.Sprintf(`{"service":"svc-%d","ip":"10.%d.%d.%d","port":80}`, i%7, round, i/200, i%200+1)
			iks[i] = store.InstanceKey{Cluster: store.DefaultCluster, IP: fmt.Sprintf("10.%d.%d.%d", round, i/200, i%200+1), Port: 80}
		}
		return batchOf(items...), iks
	}
	holds := func(a *agent.Agent, iks []store.InstanceKey) int {
		n := 0
		for i, ik := range iks {
			if _, ok := a.Node().Store().Snapshot(keyOf(fmt.Sprintf("svc-%d", i%7))).Find(ik); ok {
				n++
			}
		}
		return n
	}
	post := func(body string) (int, string, string) {
		code, out, h := doAuth(t, http.MethodPost, base(n0)+"/v1/instances/batch", "application/json", body, "")
		return code, out, h.Get("X-Roster-Replicas")
	}

	body, iks := batch(1)
	code, out, reps := post(body)
	if code != 200 || reps != "2" || strings.Contains(out, `"status"`) {
		t.Fatalf("batch: %d, replicas %q, %.300s; want 200, 2 and no failed item", code, reps, out)
	}
	var reply api.BatchRegisterReply
	mustJSON(t, out, &reply)
	if len(reply.Results) != perBatch {
		t.Fatalf("%d results, want %d", len(reply.Results), perBatch)
	}
	complete := 0
	for _, a := range tc.Agents()[1:] {
		if holds(a, iks) == perBatch {
			complete++
		}
	}
	if complete == 0 {
		t.Fatal("the batch was answered before any peer held all of it")
	}
	for _, a := range tc.Agents() {
		await.True(t, 5*time.Second, a.Node().Name()+" holds the whole batch", func() bool { return holds(a, iks) == perBatch })
	}

	cut.Store(true)
	body, iks = batch(2)
	if code, out, reps := post(body); code != 200 || reps != "1" {
		t.Fatalf("batch without a peer's confirmation: %d, replicas %q, %.300s; want 200 and 1", code, reps, out)
	}
	if got := holds(n0, iks); got != perBatch {
		t.Fatalf("n0 holds %d of the batch it answered, want %d", got, perBatch)
	}
	cut.Store(false)
	for _, a := range tc.Agents() {
		await.True(t, 10*time.Second, a.Node().Name()+" holds the batch held on n0 alone", func() bool { return holds(a, iks) == perBatch })
	}
}
