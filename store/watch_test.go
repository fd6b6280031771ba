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

// TestChanged_madeWhenAskedFor: the store-wide change channel closes at
// the first change after it was asked for, a channel asked for after a
// change waits for the next one, and writes nobody waits for make none
// (one a write, with its pointer, was 2.6 % of an agent's allocated
// bytes under registrations).
func TestChanged_madeWhenAskedFor(t *testing.T) {
	s := newTestStore(t, "n1", newFakeClock())
	reg := func(port int) {
		t.Helper()
		if _, err := s.Register(svcA, Instance{InstanceKey: InstanceKey{Cluster: DefaultCluster, IP: "10.0.0.1", Port: port}}); err != nil {
			t.Fatal(err)
		}
	}
	first := s.Changed()
	if s.Changed() != first || closed(first) {
		t.Fatal("two asks before any change got different channels, or a closed one")
	}
	reg(80)
	if !closed(first) {
		t.Fatal("a change did not close the channel asked for before it")
	}
	for port := range 10 {
		reg(81 + port)
	}
	if s.global.Load() != nil {
		t.Error("writes that nobody waited for left a channel made")
	}
	next := s.Changed()
	if closed(next) {
		t.Fatal("a channel asked for after the changes is already closed")
	}
	if snap := s.Snapshot(svcB); snap.Changed() != next {
		t.Error("a missing service's snapshot does not wait on the store-wide channel")
	}
	reg(99)
	if !closed(next) {
		t.Fatal("the next change did not close it")
	}
}
