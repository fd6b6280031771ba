package store

import (
	"testing"
	"time"
)

// CloseConn deletes what is bound to the closed connection and nothing
// else, and two replicas applying the same close write the same
// tombstones (equal digests), a re-versioned record included.
func TestCloseConn_compareAndDeleteSameOnEveryReplica(t *testing.T) {
	clk := newFakeClock()
	holder := newTestStore(t, "h1", clk)
	replica := newTestStore(t, "n2", clk)
	var recs []Instance
	for i := range 3 {
		recs = append(recs, mustRegister(t, holder, svcA, leased("10.0.0."+itoa(i), "h1", "c1")))
	}
	other := mustRegister(t, holder, svcA, leased("10.0.1.1", "h1", "c2"))
	beating := mustRegister(t, holder, svcB, inst("10.0.2.1", 80))
	for _, in := range append(recs, other, beating) {
		k := svcA
		if in.InstanceKey == beating.InstanceKey {
			k = svcB
		}
		replica.Merge(k, in)
	}
	// The replica re-versioned one record after the close will be
	// stamped (an owner revived it): it is deleted all the same.
	revived := recs[2]
	revived.Version = Version{Clock: ev(int64(time.Hour)), Node: "n2"}
	replica.Merge(svcA, revived)
	holder.Merge(svcA, revived)

	clk.Advance(time.Second)
	v, n := holder.CloseConn("h1", "c1", Version{})
	if n != 3 || v.Node != "h1" {
		t.Fatalf("holder: CloseConn deleted %d at %v, want 3 under h1", n, v)
	}
	if _, n := replica.CloseConn("h1", "c1", v); n != 3 {
		t.Fatalf("replica: CloseConn deleted %d, want 3", n)
	}
	for _, s := range []*Store{holder, replica} {
		if got := len(s.Snapshot(svcA).Instances); got != 1 {
			t.Fatalf("%d instances of svcA left, want only the other connection's", got)
		}
		if got := len(s.Snapshot(svcB).Instances); got != 1 {
			t.Fatal("the beating instance was deleted")
		}
		cur, _ := s.Current(svcA, revived.InstanceKey)
		if !cur.Deleted || !cur.Expired || !revived.Version.Less(cur.Version) || cur.Version.Node != "h1" {
			t.Fatalf("tombstone of the re-versioned record: %+v", cur)
		}
	}
	if holder.Digests()[holder.partitionOf(svcA)] != replica.Digests()[replica.partitionOf(svcA)] {
		t.Fatal("the replicas' digests differ after the same close")
	}
	if _, n := replica.CloseConn("h1", "c1", v); n != 0 {
		t.Fatalf("a repeated close deleted %d", n)
	}
	if _, n := replica.CloseConn("h9", "c2", v); n != 0 {
		t.Fatalf("another holder's close of the same connection id deleted %d", n)
	}
}

// A holder's close tombstone reaching an owner that heard the lease
// renewed just now deletes the record (the holder's word on its own
// connection), while it never deletes a record bound elsewhere.
func TestCloseConn_tombstoneMergesPastTheGuard(t *testing.T) {
	clk := newFakeClock()
	owner := newTestStore(t, "o", clk)
	in := leased("10.0.0.1", "h1", "c1")
	in.Version = Version{Clock: ev(1), Node: "h1"}
	owner.Merge(svcA, in)
	owner.RenewBound("h1", []string{"c1"}) // heard now
	closed := tombstone(&in, Version{Clock: ev(2), Node: "h1"})
	closed.Expired = true
	if applied, re := owner.MergeGuarded(svcA, closed, true); !applied || re != nil {
		t.Fatalf("the holder's close tombstone: applied=%v reassert=%+v, want applied", applied, re)
	}
	moved := leased("10.0.0.2", "h2", "c9")
	moved.Version = Version{Clock: ev(1), Node: "h2"}
	owner.Merge(svcA, moved)
	stale := tombstone(&moved, Version{Clock: ev(3), Node: "h1"})
	stale.Holder, stale.Conn, stale.Expired = "h1", "c1", true
	if applied, re := owner.MergeGuarded(svcA, stale, true); applied || re == nil || re.Conn != "c9" {
		t.Fatalf("a close of another binding: applied=%v reassert=%+v, want refused and re-asserted", applied, re)
	}
}
