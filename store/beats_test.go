package store

import (
	"testing"
	"time"
)

// TestLastBeats reads when each live ephemeral instance was last heard
// of: its registration, then its beat; persistent and deleted instances
// are left out, and an unknown service has none.
func TestLastBeats(t *testing.T) {
	clk := newFakeClock()
	s := newTestStore(t, "n1", clk)
	k := Key{Namespace: DefaultNamespace, Group: DefaultGroup, Service: "svc"}
	registered := clk.Now()
	mustRegister(t, s, k, inst("10.0.0.1", 80))
	mustRegister(t, s, k, inst("10.0.0.2", 80))
	persistent := inst("10.0.0.3", 80)
	persistent.Ephemeral = false
	mustRegister(t, s, k, persistent)
	beat := clk.Advance(3 * time.Second)
	if _, err := s.Beat(k, ik("10.0.0.1", 80)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Deregister(k, ik("10.0.0.2", 80)); err != nil {
		t.Fatal(err)
	}
	got := s.LastBeats(k)
	if len(got) != 1 || !got[ik("10.0.0.1", 80)].Equal(beat) {
		t.Errorf("LastBeats = %v, want 10.0.0.1 at %v (registered %v) alone", got, beat, registered)
	}
	if got := s.LastBeats(Key{Namespace: DefaultNamespace, Group: DefaultGroup, Service: "none"}); len(got) != 0 {
		t.Errorf("LastBeats of an unknown service = %v, want none", got)
	}
}

// TestNamespaces counts the services of each namespace.
func TestNamespaces(t *testing.T) {
	s := newTestStore(t, "n1", newFakeClock())
	for _, k := range []Key{{"public", "G", "a"}, {"public", "G", "b"}, {"dev", "G", "a"}} {
		mustRegister(t, s, k, inst("10.0.0.1", 80))
	}
	got := s.Namespaces()
	if len(got) != 2 || got["public"] != 2 || got["dev"] != 1 {
		t.Errorf("Namespaces = %v, want public 2, dev 1", got)
	}
}
