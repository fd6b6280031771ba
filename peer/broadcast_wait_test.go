package peer

import (
	"context"
	"testing"
	"time"

	"github.com/roster-io/roster/internal/await"
)

// TestBroadcastWait_waitsWithinForAFullQueue: with a member's delta queue
// full, Broadcast leaves the member out at once, BroadcastWait waits for
// room up to its bound and then leaves it out, and a longer bound waits
// until the batch in flight is answered and the queue has room again.
func TestBroadcastWait_waitsWithinForAFullQueue(t *testing.T) {
	const merge = time.Second
	nodes := newMesh(t, []string{"a", "b"}, meshOptions{tune: func(n *meshNode) {
		n.tr.cfg.DeltaQueue = 1
	}})
	a, b := nodes["a"], nodes["b"]
	send(t, a, b) // the connection is up
	b.recv.slow.Store(int64(merge))
	if got := a.tr.Broadcast(sampleRecords(1)).queued; got != 1 {
		t.Fatalf("first broadcast: queued for %d members, want 1", got)
	}
	await.True(t, 5*time.Second, "the first batch in flight", func() bool { return a.tr.Pending() == 0 })
	if got := a.tr.Broadcast(sampleRecords(1)).queued; got != 1 { // fills the queue
		t.Fatalf("second broadcast: queued for %d members, want 1", got)
	}
	start := time.Now()
	if got := a.tr.Broadcast(sampleRecords(1)).queued; got != 0 {
		t.Errorf("Broadcast with the queue full: queued for %d members, want 0", got)
	}
	if took := time.Since(start); took > merge/2 {
		t.Errorf("Broadcast with the queue full took %v: it should not wait", took)
	}
	start = time.Now()
	if got := a.tr.BroadcastWait(context.Background(), 50*time.Millisecond, sampleRecords(1)).queued; got != 0 {
		t.Errorf("BroadcastWait within 50ms with the queue full: queued for %d members, want 0", got)
	}
	if took := time.Since(start); took < 50*time.Millisecond || took > merge/2 {
		t.Errorf("BroadcastWait within 50ms returned after %v, want 50ms and well under the %v merge", took, merge)
	}
	if got := a.tr.BroadcastWait(context.Background(), 10*time.Second, sampleRecords(1)).queued; got != 1 {
		t.Errorf("BroadcastWait within 10s: queued for %d members, want 1 once the queue had room", got)
	}
}
