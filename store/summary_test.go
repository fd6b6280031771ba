package store

import (
	"testing"
	"time"
)

// TestSummaries_matchDigests checks that two replicas' summaries name the
// same record the same way, differ exactly where the replicas differ, and
// that RecordsByID hands out just the records asked for.
func TestSummaries_matchDigests(t *testing.T) {
	clk := newFakeClock()
	a, b := newTestStore(t, "a", clk), newTestStore(t, "b", clk)
	k := Key{Namespace: "public", Group: "g", Service: "s"}
	var regs []Instance
	for i := 0; i < 5; i++ {
		in := mustRegister(t, a, k, Instance{InstanceKey: ik("10.0.0.1", i+1), Ephemeral: true, Healthy: true,
			BeatTimeout: time.Second, DeleteTimeout: 2 * time.Second})
		b.Merge(k, in)
		regs = append(regs, in)
	}
	if _, err := a.Deregister(k, regs[2].InstanceKey); err != nil { // b misses this
		t.Fatal(err)
	}
	p := a.partitionOf(k)
	sa, sb := a.Summaries([]int{p})[0], b.Summaries([]int{p})[0]
	if len(sa) != 5 || len(sb) != 5 {
		t.Fatalf("got %d and %d entries, want 5 each", len(sa), len(sb))
	}
	var differ []uint64
	for i := range sa {
		if sa[i].ID != sb[i].ID {
			t.Fatalf("entry %d: ids %x and %x; want the same order of the same records", i, sa[i].ID, sb[i].ID)
		}
		if sa[i].Hash != sb[i].Hash {
			differ = append(differ, sa[i].ID)
			if sa[i].Clock <= sb[i].Clock {
				t.Errorf("the deregistration's clock %d is not newer than %d", sa[i].Clock, sb[i].Clock)
			}
		}
	}
	if len(differ) != 1 || differ[0] != instanceID(k, regs[2].InstanceKey) {
		t.Fatalf("differing records: got %x, want only the deregistered one", differ)
	}
	recs := a.RecordsByID([]int{p}, map[uint64]bool{differ[0]: true})
	if len(recs) != 1 || recs[0].Instance == nil || !recs[0].Instance.Deleted {
		t.Fatalf("RecordsByID: got %+v, want the one tombstone", recs)
	}
	b.Merge(k, *recs[0].Instance)
	if a.Digests()[p] != b.Digests()[p] {
		t.Fatal("digests still differ after merging the one record")
	}
	es, ok := ParseSummary(AppendSummary(nil, sa))
	if !ok || len(es) != len(sa) || es[4] != sa[4] {
		t.Fatalf("summary round trip: got %v, %v", es, ok)
	}
	if _, ok := ParseSummary(make([]byte, SummaryEntryBytes+1)); ok {
		t.Fatal("a partial entry parsed")
	}
}
