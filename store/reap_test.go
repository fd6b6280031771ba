package store

import (
	"fmt"
	"testing"
	"time"
)

// A tombstone that was revived and deleted again waits a full TTL from
// its second deletion; the grave of the first is skipped.
func TestReap_reburiedWaitsForItsOwnTTL(t *testing.T) {
	clk := newFakeClock()
	s := newTestStore(t, "n1", clk) // TombstoneTTL 1m
	mustRegister(t, s, svcA, inst("10.0.0.1", 80))
	mustRegister(t, s, svcA, inst("10.0.0.2", 80)) // keeps the service alive
	t0 := clk.Now()
	if _, err := s.Deregister(svcA, ik("10.0.0.1", 80)); err != nil {
		t.Fatal(err)
	}
	clk.Advance(30 * time.Second)
	mustRegister(t, s, svcA, inst("10.0.0.1", 80))
	clk.Advance(10 * time.Second)
	t2 := clk.Now()
	if _, err := s.Deregister(svcA, ik("10.0.0.1", 80)); err != nil {
		t.Fatal(err)
	}
	clk.Set(t0.Add(time.Minute))
	if got := s.Reap(); got != 0 {
		t.Fatalf("Reap one TTL after the first deletion dropped %d, want 0 (re-deleted at +40s)", got)
	}
	if got := len(s.Records()); got != 2 {
		t.Fatalf("records %d, want 2 (the live one and the tombstone)", got)
	}
	clk.Set(t2.Add(time.Minute))
	if got := s.Reap(); got != 1 {
		t.Fatalf("Reap one TTL after the second deletion dropped %d, want 1", got)
	}
	checkSnapshots(t, s)
}

// A mass deletion larger than one reaping chunk is reaped entirely, and
// the digests end as if the tombstones had never been there.
func TestReap_massDeletionInChunks(t *testing.T) {
	clk := newFakeClock()
	s := newTestStore(t, "n1", clk)
	mustRegister(t, s, svcB, inst("10.9.9.9", 80))
	before := append([]uint64(nil), s.Digests()...)
	n := maxReap*2 + 17
	for i := 0; i < n; i++ {
		in := inst(fmt.Sprintf("10.0.%d.%d", i>>8, i&255), 80)
		mustRegister(t, s, svcA, in)
		if _, err := s.Deregister(svcA, in.InstanceKey); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(time.Minute)
	if got := s.Reap(); got != n {
		t.Fatalf("Reap dropped %d, want %d", got, n)
	}
	if len(s.graves) != 0 {
		t.Errorf("%d graves left", len(s.graves))
	}
	for p, d := range s.Digests() {
		if d != before[p] {
			t.Fatalf("partition %d digest %x after reaping, want %x", p, d, before[p])
		}
	}
	if s.Snapshot(svcA).Exists {
		t.Errorf("service of only reaped tombstones still exists")
	}
	checkSnapshots(t, s)
}
