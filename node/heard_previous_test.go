package node

import (
	"testing"
	"time"

	"github.com/roster-io/roster/peer"
	"github.com/roster-io/roster/store"
)

// A node back from a restart holds its former incarnation's report of
// partitions 3 and 4. Member "b" took partition 3 over and reported it;
// member "c" reported without claiming partition 4 (it never noticed the
// restart); nobody reported partition 5. The wait for reports counts only
// 5 as missing; the takeover reads 3 from b's own report, 4 from the
// former incarnation's, and gives 5 fresh timeouts; a later takeover no
// longer reads the former report.
func TestHeardHints_formerIncarnation(t *testing.T) {
	var h heardHints
	t0 := time.Unix(1_700_000_000, 0)
	former := &store.Hint{At: t0.Add(-5 * time.Second), Until: t0.Add(-time.Second), Quiet: []store.Quiet{{ID: 1, Age: 3 * time.Second}}}
	h.setPrevious(map[int]*store.Hint{3: {At: t0.Add(-5 * time.Second), Until: t0.Add(-time.Second)}, 4: former})
	h.record("b", 1, []peer.Heard{{Partition: 3, Holds: time.Minute}}, t0)
	h.record("c", 1, []peer.Heard{{Partition: 9, Holds: time.Minute}}, t0)

	owners := make([]string, 10)
	owners[3], owners[4], owners[5], owners[9] = "b", "c", "c", "c"
	if got := h.uncovered(owners, "self"); got != 1 {
		t.Errorf("%d partitions missing a report, want 1 (partition 5)", got)
	}
	var miss hintMisses
	hint := h.hintsFrom(func(p int) string { return owners[p] }, t0.Add(time.Second), 2*time.Minute, &miss)
	if got := hint(3); got == nil || !got.At.Equal(t0) {
		t.Errorf("partition 3: %+v, want b's report (arrived at t0)", got)
	}
	if got := hint(4); got != former {
		t.Errorf("partition 4: %+v, want the former incarnation's report", got)
	}
	if got := hint(5); got != nil {
		t.Errorf("partition 5: %+v, want none (fresh timeouts)", got)
	}
	if want := (hintMisses{none: 1, previous: 1}); miss != want {
		t.Errorf("misses %+v, want %+v", miss, want)
	}
	h.dropPrevious()
	if got := h.hintsFrom(func(p int) string { return owners[p] }, t0.Add(time.Second), 2*time.Minute, nil)(4); got != nil {
		t.Errorf("after the first takeover, partition 4: %+v, want none", got)
	}
	// Before c reported at all, partition 4 still counts as missing: c
	// may yet claim it.
	var fresh heardHints
	fresh.setPrevious(map[int]*store.Hint{4: former})
	if got := fresh.uncovered(owners, "self"); got != 4 {
		t.Errorf("%d missing before any report, want all 4", got)
	}
}

// A peer answers the report it holds from a member, as a takeover would
// read it; partitions last reported by another member are left out.
func TestHeardHints_held(t *testing.T) {
	var h heardHints
	t0 := time.Unix(1_700_000_000, 0)
	h.record("a", 1, []peer.Heard{{Partition: 1, Holds: time.Minute, Quiet: []store.Quiet{{ID: 7, Age: time.Second}}}, {Partition: 2, Holds: time.Minute}}, t0)
	h.record("b", 1, []peer.Heard{{Partition: 2, Holds: time.Minute}}, t0.Add(time.Second))
	got := h.held("a", t0.Add(2*time.Second), 2*time.Minute)
	if len(got) != 1 || got[1] == nil || len(got[1].Quiet) != 1 || !got[1].Until.Equal(t0.Add(2*time.Second)) {
		t.Fatalf("held of a: %+v, want partition 1 alone, its quiet instance, held until now", got)
	}
	// Once this node saw a leave, a's partitions were taken over by
	// members that report them: nothing is answered.
	h.departed(map[string]Member{"b": {}}, t0.Add(3*time.Second), 2*time.Minute)
	if got := h.held("a", t0.Add(4*time.Second), 2*time.Minute); len(got) != 0 {
		t.Errorf("held of a after it left: %+v, want none", got)
	}
}
