package store

import (
	"testing"
	"time"
)

// Instances renewed together come due together and are put back for
// later: one Sweep looks at no more than maxSweepPops of them, so the
// lock is released between batches, and the sweeps that follow finish
// the work without expiring any.
func TestSweep_boundsTheItemsOneCallLooksAt(t *testing.T) {
	clk := newFakeClock()
	s := newTestStore(t, "n1", clk)
	const n = 3*maxSweepPops + 100
	conns := []string{"c1"}
	for i := range n {
		in := leased("10.9.0.1", "h1", "c1")
		in.IP = "10." + itoa(i/10000%100) + "." + itoa(i/100%100) + "." + itoa(i%100)
		mustRegister(t, s, svcA, in)
	}
	clk.Advance(4 * time.Second)
	if renewed, _ := s.RenewBound("h1", conns); renewed != n {
		t.Fatalf("renewed %d, want %d", renewed, n)
	}
	clk.Advance(3 * time.Second) // past the first deadlines, before the renewed ones
	calls := 0
	for {
		at, ok := s.NextDeadline()
		if !ok || at.After(clk.Now()) {
			break
		}
		if trans := s.Sweep(nil); len(trans) != 0 {
			t.Fatalf("sweep expired %d renewed instances", len(trans))
		}
		if calls++; calls > n {
			t.Fatal("sweeps make no progress")
		}
	}
	if calls < 3 {
		t.Fatalf("%d due items took %d sweeps, want at least 3 of at most %d each", n, calls, maxSweepPops)
	}
	if got := len(s.Snapshot(svcA).Instances); got != n {
		t.Fatalf("%d instances listed, want %d", got, n)
	}
}
