package store

import (
	"testing"
	"time"
)

// TestMergeGuarded_expiryDoesNotReviveDeregistered is the chaos suite's
// partition finding: a client deregisters on one side of a partition, the
// owner on the other side (no more beats) marks the instance unhealthy by
// expiry with a newer version, and after healing that record must not
// bring the instance back. The deregistering side refuses it and
// re-asserts its tombstone with a newer version, which the far side then
// takes.
func TestMergeGuarded_expiryDoesNotReviveDeregistered(t *testing.T) {
	clk := newFakeClock()
	near, far := newTestStore(t, "near", clk), newTestStore(t, "far", clk)
	k := Key{Namespace: "public", Group: "g", Service: "s"}
	reg := mustRegister(t, far, k, Instance{InstanceKey: ik("10.0.0.1", 1), Ephemeral: true, Healthy: true,
		BeatTimeout: time.Second, DeleteTimeout: 5 * time.Second})
	near.Merge(k, reg)
	tomb, err := near.Deregister(k, reg.InstanceKey)
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(1500 * time.Millisecond)
	tr := far.Sweep(nil)
	if len(tr) != 1 || tr[0].Removed || !tr[0].Instance.Expired {
		t.Fatalf("far side sweep: got %+v, want one unhealthy-by-expiry transition", tr)
	}
	unhealthy := tr[0].Instance
	if !tomb.Version.Less(unhealthy.Version) {
		t.Fatalf("setup: tombstone %v not older than the expiry %v", tomb.Version, unhealthy.Version)
	}
	applied, re := near.MergeGuarded(k, unhealthy, true)
	if applied || re == nil || !re.Deleted || !unhealthy.Version.Less(re.Version) {
		t.Fatalf("got applied %v, reassert %+v; want the tombstone re-asserted with a newer version", applied, re)
	}
	if _, ok := near.Snapshot(k).Find(reg.InstanceKey); ok {
		t.Fatal("near side lists the deregistered instance after the far side's expiry")
	}
	if applied, re := far.MergeGuarded(k, *re, true); !applied || re != nil {
		t.Fatalf("far side: got applied %v, reassert %v; want the re-asserted tombstone applied", applied, re)
	}
	if _, ok := far.Snapshot(k).Find(reg.InstanceKey); ok {
		t.Fatal("far side still lists the deregistered instance after the re-asserted tombstone")
	}
	// An expiry over an expiry's own tombstone, or without the guard, is
	// the plain version order.
	if applied, _ := newTestStore(t, "x", clk).MergeGuarded(k, unhealthy, false); !applied {
		t.Fatal("unguarded merge into an empty store: want applied")
	}
}

// TestMergeGuarded_lateExpiryDoesNotReviveRemoved: the near side's owner
// removed a silent instance by expiry; the far side, which took over
// later, marks it unhealthy with a newer version. After healing, that
// must not bring the removed instance back as unhealthy.
func TestMergeGuarded_lateExpiryDoesNotReviveRemoved(t *testing.T) {
	clk := newFakeClock()
	near, far := newTestStore(t, "near", clk), newTestStore(t, "far", clk)
	k := Key{Namespace: "public", Group: "g", Service: "s"}
	reg := mustRegister(t, near, k, Instance{InstanceKey: ik("10.0.0.2", 1), Ephemeral: true, Healthy: true,
		BeatTimeout: time.Second, DeleteTimeout: 2 * time.Second})
	far.Merge(k, reg)
	clk.Advance(1500 * time.Millisecond)
	near.Sweep(nil) // unhealthy
	clk.Advance(time.Second)
	if tr := near.Sweep(nil); len(tr) != 1 || !tr[0].Removed {
		t.Fatalf("near side: got %+v, want the removal", tr)
	}
	far.Refresh(k) // the far side took over late: a fresh timeout
	clk.Advance(1500 * time.Millisecond)
	tr := far.Sweep(nil)
	if len(tr) != 1 || tr[0].Removed {
		t.Fatalf("far side: got %+v, want unhealthy", tr)
	}
	applied, re := near.MergeGuarded(k, tr[0].Instance, true)
	if applied || re == nil || !re.Deleted {
		t.Fatalf("got applied %v, reassert %+v; want the removal re-asserted", applied, re)
	}
	if _, ok := near.Snapshot(k).Find(reg.InstanceKey); ok {
		t.Fatal("near side lists the removed instance again")
	}
}

// TestMergeGuarded_reassertionKeepsTheDeadline is the chaos suite's
// hostile-scenario finding (seed 2101): a new owner, which never got the
// last beat (the node the client beat through handled it itself while
// ownership moved), expired the instance a little before its real
// deadline; the node that heard the beat refused and re-asserted it, and
// the owner, counting from the re-assertion's arrival, kept the instance
// a whole timeout too long. The re-assertion carries when the client was
// heard, and the owner's deadline stays the real one.
func TestMergeGuarded_reassertionKeepsTheDeadline(t *testing.T) {
	clk := newFakeClock()
	owner, heardBy := newTestStore(t, "owner", clk), newTestStore(t, "heard", clk)
	k := Key{Namespace: "public", Group: "g", Service: "s"}
	reg := mustRegister(t, heardBy, k, Instance{InstanceKey: ik("10.0.0.1", 1), Ephemeral: true, Healthy: true,
		BeatTimeout: 3 * time.Second, DeleteTimeout: 6 * time.Second})
	owner.Merge(k, reg)
	owner.Refresh(k) // the takeover's fresh timeout: the owner's clock starts here
	clk.Advance(100 * time.Millisecond)
	if _, err := heardBy.Beat(k, reg.InstanceKey); err != nil { // the beat the owner never saw
		t.Fatal(err)
	}
	beatAt := clk.Now()
	clk.Advance(2900 * time.Millisecond) // the owner's deadline; 100 ms before the real one
	tr := owner.Sweep(nil)
	if len(tr) != 1 || tr[0].Removed {
		t.Fatalf("owner sweep: got %+v, want one unhealthy transition", tr)
	}
	applied, re := heardBy.MergeGuarded(k, tr[0].Instance, true)
	if applied || re == nil || !re.Healthy || re.Heard != beatAt.UnixNano() {
		t.Fatalf("got applied %v, reassert %+v; want a healthy re-assertion heard at %v", applied, re, beatAt.UnixNano())
	}
	if !owner.Merge(k, *re) {
		t.Fatal("owner did not take the re-assertion")
	}
	if got, ok := owner.Snapshot(k).Find(reg.InstanceKey); !ok || got.Heard != 0 {
		t.Fatalf("owner stores %+v, %v; want the instance without Heard", got, ok)
	}
	next, ok := owner.NextDeadline()
	if want := beatAt.Add(3 * time.Second); !ok || !next.Equal(want) {
		t.Fatalf("owner's next deadline: got %v (%v), want %v (last beat + timeout)", next, ok, want)
	}
	clk.Advance(100 * time.Millisecond)
	if tr := owner.Sweep(nil); len(tr) != 1 || tr[0].Removed || tr[0].Instance.Healthy {
		t.Fatalf("owner sweep at the real deadline: got %+v, want it unhealthy", tr)
	}
	if applied, re := heardBy.MergeGuarded(k, owner.mustFind(t, k, reg.InstanceKey), true); !applied || re != nil {
		t.Fatalf("expiry at the real deadline: got applied %v, reassert %+v; want it accepted", applied, re)
	}
}

// mustFind returns the record s holds for ik in service k, tombstones
// included.
func (s *Store) mustFind(t *testing.T, k Key, ik InstanceKey) Instance {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	_, e := s.lookupLocked(k, ik)
	if e == nil {
		t.Fatalf("no record of %v in %v", ik, k)
	}
	return *e.inst
}
