package node

import (
	"testing"
	"time"

	"github.com/roster-io/roster/peer"
	"github.com/roster-io/roster/store"
)

// A node ("self") back from a restart copied from its sync peer the last
// reports of partitions 3, 4, 6 and 7: 3 and 4 from its former
// incarnation, 6 from "c", 7 from "x". Member "b" took partition 3 over
// and reported it; "c" reported without claiming partition 4 (it never
// noticed the restart) and its own report of 6 has not come; nobody
// reported 5. The wait for reports counts 5 and 7 as missing; the
// takeover reads 3 from b's own report, 4 from the former incarnation's
// copy, 6 from the copy of c's, and gives 5 and 7 fresh timeouts (7's copy
// is from another member than its owner before); a later takeover no
// longer reads the copies.
func TestHeardHints_relayed(t *testing.T) {
	var h heardHints
	t0 := time.Unix(1_700_000_000, 0)
	hint := func() *store.Hint { return &store.Hint{At: t0.Add(-5 * time.Second), Until: t0.Add(-time.Second)} }
	former, ofC := hint(), hint()
	h.setRelayed("self", map[int]peer.Held{3: {From: "self", Hint: hint()}, 4: {From: "self", Hint: former},
		6: {From: "c", Hint: ofC}, 7: {From: "x", Hint: hint()}})
	h.record("b", 1, []peer.Heard{{Partition: 3, Holds: time.Minute}}, t0)
	h.record("c", 1, []peer.Heard{{Partition: 9, Holds: time.Minute}}, t0)

	owners := make([]string, 10)
	owners[3], owners[4], owners[5], owners[6], owners[7], owners[9] = "b", "c", "c", "c", "c", "c"
	if got := h.uncovered(owners, "self"); got != 2 {
		t.Errorf("%d partitions missing a report, want 2 (5 and 7)", got)
	}
	var miss hintMisses
	read := h.hintsFrom(func(p int) string { return owners[p] }, t0.Add(time.Second), 2*time.Minute, &miss)
	if got := read(3); got == nil || !got.At.Equal(t0) {
		t.Errorf("partition 3: %+v, want b's own report (arrived at t0)", got)
	}
	if got := read(4); got != former {
		t.Errorf("partition 4: %+v, want the former incarnation's copy", got)
	}
	if got := read(6); got != ofC {
		t.Errorf("partition 6: %+v, want the copy of c's report", got)
	}
	for _, p := range []int{5, 7} {
		if got := read(p); got != nil {
			t.Errorf("partition %d: %+v, want none (fresh timeouts)", p, got)
		}
	}
	if miss.none != 2 || miss.relayed != 2 {
		t.Errorf("misses %+v, want 2 without a report (5, 7) and 2 relayed", miss)
	}
	h.dropRelayed()
	if got := h.hintsFrom(func(p int) string { return owners[p] }, t0.Add(time.Second), 2*time.Minute, nil)(4); got != nil {
		t.Errorf("after the first takeover, partition 4: %+v, want none", got)
	}
	// Before c reported at all, partition 4 still counts as missing: c
	// may yet claim it.
	var fresh heardHints
	fresh.setRelayed("self", map[int]peer.Held{4: {From: "self", Hint: former}})
	if got := fresh.uncovered(owners, "self"); got != 6 {
		t.Errorf("%d missing before any report, want all 6", got)
	}
}

// A peer answers every partition's last report with its sender, as a
// takeover would read it, but none of a member's own once it saw that
// member leave.
func TestHeardHints_held(t *testing.T) {
	var h heardHints
	t0 := time.Unix(1_700_000_000, 0)
	h.record("a", 1, []peer.Heard{{Partition: 1, Holds: time.Minute, Quiet: []store.Quiet{{ID: 7, Age: time.Second}}}, {Partition: 2, Holds: time.Minute}}, t0)
	h.record("b", 1, []peer.Heard{{Partition: 2, Holds: time.Minute}}, t0.Add(time.Second))
	got := h.held("a", t0.Add(2*time.Second), 2*time.Minute)
	if len(got) != 2 || got[1].From != "a" || len(got[1].Hint.Quiet) != 1 || !got[1].Hint.Until.Equal(t0.Add(2*time.Second)) || got[2].From != "b" {
		t.Fatalf("held: %+v, want partition 1 from a (its quiet instance, held until now) and 2 from b", got)
	}
	h.departed(map[string]Member{"b": {}}, t0.Add(3*time.Second), 2*time.Minute)
	if got := h.held("a", t0.Add(4*time.Second), 2*time.Minute); len(got) != 1 || got[2].From != "b" {
		t.Errorf("held for a after it left: %+v, want b's partition 2 alone", got)
	}
	if got := h.held("c", t0.Add(4*time.Second), 2*time.Minute); len(got) != 2 || !got[1].Hint.Until.Equal(t0.Add(3*time.Second)) {
		t.Errorf("held for another asker: %+v, want both, a's held until it left", got)
	}
}
