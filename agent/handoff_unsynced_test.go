package agent_test

import (
	"context"
	"errors"
	"testing"

	"github.com/roster-io/roster/peer"
	"github.com/roster-io/roster/store"
)

// TestHandoff_unsyncedNodeRefusesBeats checks that a node that has not
// synced refuses a handed-off beat as stale instead of re-registering the
// instance from it: it holds nothing yet (not a deregistration made
// meanwhile either), and the sender handles the beat itself.
func TestHandoff_unsyncedNodeRefusesBeats(t *testing.T) {
	a := inProcess(t, false)
	k := keyOf("late")
	in := store.Instance{InstanceKey: store.InstanceKey{Cluster: store.DefaultCluster, IP: "10.0.0.1", Port: 80},
		Weight: 1, Healthy: true, Enabled: true, Ephemeral: true}
	_, _, err := a.Node().HandleBeat(context.Background(), peer.BeatCall{Key: k, Instance: in.InstanceKey, Register: &in})
	if !errors.Is(err, peer.ErrStaleHandoff) {
		t.Fatalf("HandleBeat on an unsynced node: got %v, want ErrStaleHandoff", err)
	}
	if _, ok := a.Node().Store().Snapshot(k).Find(in.InstanceKey); ok {
		t.Fatal("the unsynced node registered the instance from the handed-off beat")
	}
}
