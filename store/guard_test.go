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
