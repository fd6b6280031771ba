package agent_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/internal/await"
	"github.com/roster-io/roster/peer"
	"github.com/roster-io/roster/store"
)

// TestSkew_futureRecordIsRefused: a record stamped an hour ahead (a peer
// whose clock runs ahead, or a forged one) is refused and counted, so this
// node's clock does not jump ahead with it; a delta dropped afterwards is
// still repaired within the normal anti-entropy interval. Before, the
// node adopted the future clock, its next writes looked "in flight" to
// anti-entropy for an hour, and a dropped delta stayed missing.
func TestSkew_futureRecordIsRefused(t *testing.T) {
	tc := agenttest.NewCluster(t, 2)
	n0, n1 := tc.Agent("n0"), tc.Agent("n1")
	future := time.Now().Add(time.Hour).UnixNano()
	rec := store.Record{Key: keyOf("skew"), Instance: &store.Instance{
		InstanceKey: store.InstanceKey{Cluster: "DEFAULT", IP: "10.0.0.1", Port: 80}, Weight: 1, Enabled: true, Healthy: true,
		BeatInterval: time.Second, BeatTimeout: 3 * time.Second, DeleteTimeout: 6 * time.Second,
		Version: store.Version{Clock: future, Node: "n1"}}}
	body, _ := json.Marshal(map[string]any{"records": []store.Record{rec}})
	req, _ := http.NewRequest(http.MethodPost, base(n0)+"/internal/v1/deltas", bytes.NewReader(body))
	req.Header.Set(peer.NodeHeader, "n1")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, ok := n0.Node().Store().Snapshot(keyOf("skew")).Find(rec.Instance.InstanceKey); ok {
		t.Fatal("a record stamped an hour ahead was applied")
	}
	if got := n0.Node().Stats().RecordsFromTheFuture; got != 1 {
		t.Fatalf("future records counted: %d, want 1", got)
	}
	// A write on n0 whose delta is lost (written to its store alone):
	// anti-entropy must bring it to n1 within a few intervals (200 ms
	// each here).
	if _, err := n0.Node().Store().Register(keyOf("after"), store.Instance{InstanceKey: store.InstanceKey{Cluster: "DEFAULT", IP: "10.0.0.2", Port: 80},
		Weight: 1, Enabled: true, Healthy: true}); err != nil {
		t.Fatal(err)
	}
	await.True(t, 3*time.Second, "the dropped delta repaired on n1", func() bool {
		_, ok := n1.Node().Store().Snapshot(keyOf("after")).Find(store.InstanceKey{Cluster: "DEFAULT", IP: "10.0.0.2", Port: 80})
		return ok
	})
}
