package store

import (
	"slices"
	"testing"
	"time"
)

// TestStore_persistentServicesAndExistence checks PersistentServices and
// AllServices against what the services' snapshots say, through
// registrations, merges, updates, expiry and deregistrations, and that
// neither rebuilds a snapshot.
func TestStore_persistentServicesAndExistence(t *testing.T) {
	clk := newFakeClock()
	s := newTestStore(t, "n1", clk)
	ka, kb, kc := Key{"public", "g", "a"}, Key{"public", "g", "b"}, Key{"public", "g", "c"}
	persistent := func(ip string) Instance {
		in := inst(ip, 80)
		in.Ephemeral = false
		return in
	}
	check := func(step string) {
		t.Helper()
		var wantP, wantAll []Key
		for _, k := range []Key{ka, kb, kc} {
			snap := s.Snapshot(k)
			if snap.Exists {
				wantAll = append(wantAll, k)
			}
			if slices.ContainsFunc(snap.Instances, func(in *Instance) bool { return !in.Ephemeral }) {
				wantP = append(wantP, k)
			}
		}
		sortKeys := func(ks []Key) []Key { slices.SortFunc(ks, compareKeys); return ks }
		if got := sortKeys(s.PersistentServices()); !slices.Equal(got, wantP) {
			t.Errorf("%s: PersistentServices = %v, want %v", step, got, wantP)
		}
		if got := sortKeys(s.AllServices()); !slices.Equal(got, wantAll) {
			t.Errorf("%s: AllServices = %v, want %v", step, got, wantAll)
		}
		if n, _ := s.Stats(); n != len(wantAll) {
			t.Errorf("%s: Stats counts %d services, want %d", step, n, len(wantAll))
		}
	}
	check("empty")
	mustRegister(t, s, ka, inst("10.0.0.1", 80))
	mustRegister(t, s, kb, persistent("10.0.0.2"))
	mustRegister(t, s, kb, persistent("10.0.0.3"))
	check("registered")
	// Neither scan rebuilds a snapshot that changed.
	mustRegister(t, s, ka, inst("10.0.0.4", 80))
	svc, _ := s.services.Load(ka)
	_, _ = s.PersistentServices(), s.AllServices()
	if !svc.(*service).stale.Load() {
		t.Error("a scan rebuilt a stale snapshot")
	}
	// A persistent instance re-registered as ephemeral, one deregistered.
	mustRegister(t, s, kb, inst("10.0.0.2", 80))
	check("one made ephemeral")
	if _, err := s.Deregister(kb, ik("10.0.0.3", 80)); err != nil {
		t.Fatal(err)
	}
	check("deregistered")
	// A merged persistent instance, then its newer tombstone.
	in := persistent("10.0.0.5")
	in.Version = Version{Clock: ev(1), Node: "n2"}
	in = in.withDefaults()
	s.Merge(kc, in)
	check("merged")
	gone := tombstone(&in, Version{Clock: ev(2), Node: "n2"})
	s.Merge(kc, gone)
	check("merged tombstone")
	// Ephemeral instances expiring and being removed.
	clk.Advance(time.Hour)
	s.Sweep(func(Key) bool { return true })
	s.Sweep(func(Key) bool { return true })
	check("swept")
}

// TestStore_droppedServiceNotMemoized checks that a service dropped once
// it holds nothing (its tombstone reaped) is not found again through the
// store's memo of the last service looked up: a new registration
// creates a new service, visible to readers.
func TestStore_droppedServiceNotMemoized(t *testing.T) {
	clk := newFakeClock()
	s := newTestStore(t, "n1", clk)
	k := Key{"public", "g", "a"}
	mustRegister(t, s, k, inst("10.0.0.1", 80))
	if _, err := s.Deregister(k, ik("10.0.0.1", 80)); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Minute)
	if n := s.Reap(); n != 1 {
		t.Fatalf("reaped %d, want 1", n)
	}
	if _, ok := s.services.Load(k); ok {
		t.Fatal("the service is still held after its last tombstone was reaped")
	}
	s.mu.Lock()
	memo := s.memo
	s.mu.Unlock()
	if memo != nil && memo.key == k {
		t.Fatal("the dropped service is still memoized")
	}
	mustRegister(t, s, k, inst("10.0.0.2", 80))
	if snap := s.Snapshot(k); len(snap.Instances) != 1 || snap.Instances[0].IP != "10.0.0.2" {
		t.Fatalf("after re-registering: %d instances", len(snap.Instances))
	}
	checkSnapshots(t, s)
}
