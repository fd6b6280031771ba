package store

import (
	"testing"
	"time"
)

// TestWatch_missingServiceWakesOnlyForItself: a watcher of a service that
// does not exist is woken when that service appears, not by every change
// anywhere (1,500 such watchers once cost 7.6 s of CPU for 1,500
// unrelated writes); its registration is dropped when released.
func TestWatch_missingServiceWakesOnlyForItself(t *testing.T) {
	s := newTestStore(t, "n1", newFakeClock())
	snap, release := s.Watch(svcA)
	if snap.Tracked {
		t.Fatal("a missing service's snapshot is tracked")
	}
	for i := range 20 {
		if _, err := s.Register(svcB, Instance{InstanceKey: InstanceKey{Cluster: DefaultCluster, IP: "10.0.0.1", Port: 80 + i}}); err != nil {
			t.Fatal(err)
		}
	}
	if closed(snap.Changed()) {
		t.Fatal("writes to another service woke the watcher of a missing one")
	}
	if _, err := s.Register(svcA, Instance{InstanceKey: InstanceKey{Cluster: DefaultCluster, IP: "10.0.0.9", Port: 80}}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-snap.Changed():
	case <-time.After(time.Second):
		t.Fatal("the service's registration did not wake its watcher")
	}
	release()
	if got, _ := s.Watch(svcA); !got.Tracked || len(got.Instances) != 1 {
		t.Fatalf("after registration: %+v", got)
	}
	// Watchers of a service that stays missing leave nothing behind.
	for range 100 {
		_, rel := s.Watch(svcC)
		rel()
	}
	if n := s.watchers(); n != 0 {
		t.Fatalf("%d watch registrations left after release, want 0", n)
	}
}
