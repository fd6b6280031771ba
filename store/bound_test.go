package store

import (
	"testing"
	"time"
)

// leased returns an instance bound to connection conn of holder, with a
// lease of 6 s (2 s interval), as node.Leases registers them.
func leased(ip, holder, conn string) Instance {
	in := inst(ip, 80)
	in.BeatInterval, in.BeatTimeout, in.DeleteTimeout = 2*time.Second, 6*time.Second, 6*time.Second
	in.Holder, in.Conn = holder, conn
	return in
}

func TestRenewBound_oneLeasePerConnectionKeepsAllItsInstances(t *testing.T) {
	clk := newFakeClock()
	s := newTestStore(t, "n1", clk)
	for i := range 50 {
		mustRegister(t, s, svcA, leased("10.0.0."+itoa(i), "h1", "c1"))
	}
	mustRegister(t, s, svcB, leased("10.0.1.1", "h1", "c2")) // another connection, never renewed
	if n := s.BoundConn("h1", "c1"); n != 50 {
		t.Fatalf("BoundConn got %d, want 50", n)
	}
	if conns, n := s.BoundTo("h1"); conns != 2 || n != 51 {
		t.Fatalf("BoundTo got %d conns %d instances, want 2 and 51", conns, n)
	}
	for range 5 { // 20 s of renewals every 4 s: past three leases
		clk.Advance(4 * time.Second)
		if n, _ := s.RenewBound("h1", []string{"c1"}); n != 50 {
			t.Fatalf("RenewBound renewed %d, want 50", n)
		}
		s.Sweep(nil)
	}
	if got := len(s.Snapshot(svcA).Instances); got != 50 {
		t.Fatalf("renewed connection kept %d instances, want 50", got)
	}
	if got := len(s.Snapshot(svcB).Instances); got != 0 {
		t.Fatalf("unrenewed connection kept %d instances, want its lease to lapse", got)
	}
	if conns, n := s.BoundTo("h1"); conns != 1 || n != 50 {
		t.Fatalf("BoundTo after the lapse got %d conns %d instances, want 1 and 50", conns, n)
	}
	if n, _ := s.RenewBound("h9", []string{"c1"}); n != 0 {
		t.Fatalf("another holder's renewal of the same connection id renewed %d, want 0", n)
	}
}

func TestExpireHolder_graceThenGoneUnlessBoundElsewhere(t *testing.T) {
	clk := newFakeClock()
	s := newTestStore(t, "n1", clk)
	mustRegister(t, s, svcA, leased("10.0.0.1", "h1", "c1"))
	mustRegister(t, s, svcA, leased("10.0.0.2", "h1", "c1"))
	mustRegister(t, s, svcA, leased("10.0.0.3", "h2", "c7")) // another holder: untouched
	if moved := s.ExpireHolder("h1", time.Second); moved != 2 {
		t.Fatalf("ExpireHolder moved %d, want 2", moved)
	}
	// Within the grace the client re-registers 10.0.0.2 through h2.
	clk.Advance(500 * time.Millisecond)
	mustRegister(t, s, svcA, leased("10.0.0.2", "h2", "c8"))
	if trs := s.Sweep(nil); len(trs) != 0 {
		t.Fatalf("swept %+v before the grace ended", trs)
	}
	trs := sweepAt(clk, s, clk.Now().Add(500*time.Millisecond))
	if len(trs) != 1 || trs[0].Instance.IP != "10.0.0.1" || !trs[0].Removed || !trs[0].Instance.Expired ||
		trs[0].Instance.Holder != "h1" || trs[0].Instance.Conn != "c1" {
		t.Fatalf("at the grace's end swept %+v, want 10.0.0.1 removed by expiry naming h1/c1", trs)
	}
	if got := len(s.Snapshot(svcA).Instances); got != 2 {
		t.Fatalf("%d instances left, want the re-registered one and h2's", got)
	}
}

// The two orders in which an expiry of the old binding and a
// re-registration through a new one can reach a node: the live
// registration wins both.
func TestMergeGuarded_bindingRaces(t *testing.T) {
	old := leased("10.0.0.1", "h1", "c1")
	old.Version = Version{Clock: ev(1), Node: "h1"}
	rereg := leased("10.0.0.1", "h2", "c2")
	rereg.Version = Version{Clock: ev(5), Node: "h2"}
	expiry := tombstone(&old, Version{Clock: ev(9), Node: "o"}) // newer than the re-registration
	expiry.Expired = true

	t.Run("expiry after the re-registration is refused", func(t *testing.T) {
		s := newTestStore(t, "n1", newFakeClock())
		s.Merge(svcA, old)
		s.Merge(svcA, rereg)
		applied, re := s.MergeGuarded(svcA, expiry, false)
		if applied || re == nil || re.Deleted || re.Conn != "c2" || !expiry.Version.Less(re.Version) {
			t.Fatalf("got applied=%v reassert=%+v, want refused and the live record re-asserted after the expiry", applied, re)
		}
		if cur, ok := s.Snapshot(svcA).Find(old.InstanceKey); !ok || cur.Conn != "c2" {
			t.Fatalf("live record %+v %v, want bound to c2", cur, ok)
		}
	})
	t.Run("re-registration after the expiry supersedes it", func(t *testing.T) {
		s := newTestStore(t, "n1", newFakeClock())
		s.Merge(svcA, old)
		if applied, _ := s.MergeGuarded(svcA, expiry, false); !applied {
			t.Fatal("the expiry of the still-bound record was not applied")
		}
		applied, re := s.MergeGuarded(svcA, rereg, false)
		if !applied || re == nil || !expiry.Version.Less(re.Version) || re.Conn != "c2" {
			t.Fatalf("got applied=%v reassert=%+v, want applied re-versioned after the expiry", applied, re)
		}
		if conns, n := s.BoundTo("h2"); conns != 1 || n != 1 {
			t.Fatalf("h2 holds %d conns %d instances, want 1 and 1", conns, n)
		}
	})
	t.Run("a client's deregistration is not superseded", func(t *testing.T) {
		s := newTestStore(t, "n1", newFakeClock())
		s.Merge(svcA, old)
		dereg := tombstone(&old, Version{Clock: ev(9), Node: "h1"})
		s.Merge(svcA, dereg)
		if applied, re := s.MergeGuarded(svcA, rereg, false); applied || re != nil {
			t.Fatalf("an older registration over a client's deregistration got applied=%v reassert=%+v", applied, re)
		}
	})
	t.Run("expiry of the same binding deletes", func(t *testing.T) {
		s := newTestStore(t, "n1", newFakeClock())
		s.Merge(svcA, old)
		if applied, re := s.MergeGuarded(svcA, expiry, false); !applied || re != nil {
			t.Fatalf("got applied=%v reassert=%+v, want the expiry applied", applied, re)
		}
		if conns, _ := s.BoundTo("h1"); conns != 0 {
			t.Fatalf("h1 still indexed with %d conns after its record was deleted", conns)
		}
	})
}

func itoa(i int) string { return string(rune('0'+i/10)) + string(rune('0'+i%10)) }
