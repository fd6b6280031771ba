package node

import (
	"testing"
	"time"

	"github.com/roster-io/roster/peer"
	"github.com/roster-io/roster/store"
)

// A partition taken over before its owner's report came gets fresh
// timeouts; when the report comes, listing the silent instance, the
// instance is re-armed from it and removed by its delete timeout from its
// last beat (plus the grace), not a whole delete timeout after the
// takeover. A report from another member, or one past the TTL, re-arms
// nothing.
func TestHeardLate_reportAfterTheTakeoverReArms(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	now := t0
	clock := func() time.Time { return now }
	s := storeWithOne(t, clock, time.Second, 3*time.Second, 6*time.Second) // its last beat, at t0
	var h heardHints
	prev := func(int) string { return "owner" }
	now = t0.Add(4 * time.Second) // the takeover: no report from the owner yet
	quiet, ok := s.QuietIn(0)
	if !ok || len(quiet) != 1 {
		t.Fatalf("quiet instances %v, %v; want the one", quiet, ok)
	}
	s.TakeOver([]int{0}, h.hintsFrom(prev, now, time.Minute, nil))

	report := []peer.Heard{{Partition: 0, Holds: 30 * time.Second, Quiet: []store.Quiet{{ID: quiet[0].ID, Age: 4200 * time.Millisecond}}}}
	now = t0.Add(4500 * time.Millisecond)
	h.record("other", 1, report, now)
	if due := h.lateFrom("other", report, now, func() time.Duration { return time.Minute }); len(due) != 0 {
		t.Fatalf("a report from another member than the owner before: %v due, want none", due)
	}
	h.record("owner", 1, report, now)
	due := h.lateFrom("owner", report, now, func() time.Duration { return time.Minute })
	if len(due) != 1 || due[0] != 0 {
		t.Fatalf("the owner's late report: %v due, want partition 0", due)
	}
	if again := h.lateFrom("owner", report, now, func() time.Duration { return time.Minute }); len(again) != 0 {
		t.Fatalf("a second copy of the report: %v due, want none (already re-armed)", again)
	}
	s.TakeOver(due, h.hintsFrom(prev, now, time.Minute, nil))
	var removed time.Duration
	for ; now.Before(t0.Add(20*time.Second)) && removed == 0; now = now.Add(50 * time.Millisecond) {
		for _, tr := range s.Sweep(func(store.Key) bool { return true }) {
			if tr.Removed {
				removed = now.Sub(t0)
			}
		}
	}
	// Its last beat counts from the report: 4.5 s - 4.2 s, so the delete
	// deadline is about 6.3 s; a fresh timeout from the takeover would be 10 s.
	if removed == 0 || removed > 6500*time.Millisecond {
		t.Fatalf("removed %v after its last beat, want by 6.5 s (10 s is the takeover's fresh timeout)", removed)
	}

	// An entry older than the TTL is dropped without re-arming.
	now = t0.Add(time.Hour)
	s.TakeOver([]int{1}, h.hintsFrom(prev, now, time.Minute, nil))
	late := []peer.Heard{{Partition: 1, Holds: time.Minute}}
	if due := h.lateFrom("owner", late, now.Add(2*time.Minute), func() time.Duration { return time.Minute }); len(due) != 0 || len(h.late) != 0 {
		t.Errorf("a report past the TTL: %v due and %d waiting, want none", due, len(h.late))
	}
}
