package store

import "testing"

// TestPublish_unreadServiceStaysBounded checks that a service written
// over and over that nobody reads keeps its pending changes within about
// its own size, and that its next reader still sees every change.
func TestPublish_unreadServiceStaysBounded(t *testing.T) {
	s := newTestStore(t, "n1", newFakeClock())
	for i := range 10 {
		mustRegister(t, s, svcA, inst(benchIP(i), 80))
	}
	in := inst(benchIP(3), 80)
	for w := range 10_000 {
		in.Weight = float64(w%100 + 1)
		mustRegister(t, s, svcA, in)
	}
	s.mu.Lock()
	svc := s.loadLocked(svcA)
	pending := len(svc.pending)
	s.mu.Unlock()
	if pending > minPendingMerge {
		t.Fatalf("%d changes pending after 10,000 writes to a service of 10 nobody read; want at most %d", pending, minPendingMerge)
	}
	snap := s.Snapshot(svcA)
	if snap == nil || len(snap.Instances) != 10 {
		t.Fatalf("snapshot: %v, want the 10 instances", snap)
	}
	for _, got := range snap.Instances {
		if got.IP == in.IP && got.Weight != in.Weight {
			t.Fatalf("instance %s weight %v, want the last write's %v", got.IP, got.Weight, in.Weight)
		}
	}
}
