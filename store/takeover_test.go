package store

import (
	"testing"
	"time"
)

// timed returns an ephemeral instance at ip:80 beating every second, with
// a 3 s beat timeout and a 6 s delete timeout.
func timed(ip string) Instance {
	in := expiring(ip, 3*time.Second, 6*time.Second)
	in.BeatInterval = time.Second
	return in
}

// transitionsUntil sweeps every 100 ms from the clock's time to end and
// returns, for each instance IP, when it turned unhealthy and when it was
// removed (zero if it was not).
func transitionsUntil(clk *fakeClock, s *Store, end time.Time) (unhealthy, removed map[string]time.Time) {
	unhealthy, removed = map[string]time.Time{}, map[string]time.Time{}
	for at := clk.Now(); !at.After(end); at = at.Add(100 * time.Millisecond) {
		for _, tr := range sweepAt(clk, s, at) {
			if tr.Removed {
				removed[tr.Instance.IP] = at
			} else {
				unhealthy[tr.Instance.IP] = at
			}
		}
	}
	return unhealthy, removed
}

// owner is a store's expiry as a node that does not own the service: it
// skips every deadline until TakeOver.
func notOwner(Key) bool { return false }

func TestTakeOver_quietInstanceKeepsItsLastHeard(t *testing.T) {
	clk := newFakeClock()
	s := newTestStore(t, "taker", clk)
	t0 := clk.Now()
	quiet := mustRegister(t, s, svcA, timed("10.0.0.1"))
	mustRegister(t, s, svcA, timed("10.0.0.2"))
	clk.Set(t0.Add(4 * time.Second))
	s.Sweep(notOwner) // not the owner yet: nothing happens

	// The former owner reported at t0+3.5s that .1 had been quiet since
	// t0 (3.5 s) and, by not listing it, that .2 had been heard within
	// 1.5 s. The takeover comes at t0+4s.
	h := &Hint{At: t0.Add(3500 * time.Millisecond), Quiet: []Quiet{{ID: instanceID(svcA, quiet.InstanceKey), Age: 3500 * time.Millisecond}}}
	if got, want := s.TakeOver([]int{s.partitionOf(svcA)}, func(int) *Hint { return h }), (Takeover{Services: 1, Quiet: 1, Heard: 1}); got != want {
		t.Fatalf("TakeOver did %+v, want %+v", got, want)
	}
	unhealthy, removed := transitionsUntil(clk, s, t0.Add(20*time.Second))
	// .1: its beat timeout had passed; a grace of one beat interval from
	// the takeover (t0+5s), then removal at its delete timeout from t0.
	if got, want := unhealthy["10.0.0.1"], t0.Add(5*time.Second); !got.Equal(want) {
		t.Errorf("quiet instance unhealthy at %v, want %v (one beat interval after the takeover)", got.Sub(t0), want.Sub(t0))
	}
	if got, want := removed["10.0.0.1"], t0.Add(6*time.Second); !got.Equal(want) {
		t.Errorf("quiet instance removed at %v, want %v (its delete timeout from its last beat)", got.Sub(t0), want.Sub(t0))
	}
	// .2: heard by t0+2s; no transition before a full beat timeout from
	// the takeover (t0+7s); removal counts from t0+2s (t0+8s).
	if got, want := unhealthy["10.0.0.2"], t0.Add(7*time.Second); !got.Equal(want) {
		t.Errorf("unlisted instance unhealthy at %v, want %v", got.Sub(t0), want.Sub(t0))
	}
	if got, want := removed["10.0.0.2"], t0.Add(8*time.Second); !got.Equal(want) {
		t.Errorf("unlisted instance removed at %v, want %v", got.Sub(t0), want.Sub(t0))
	}
}

// TestTakeOver_movesDoNotCompound moves a silent instance's service every
// 1.5 s, each new owner taking over from its predecessor's report, and
// checks that it is removed within its delete timeout from its last beat
// plus the one beat interval of grace a takeover gives (a move comes at
// 6 s, its deadline). With fresh timeouts it would never be removed.
func TestTakeOver_movesDoNotCompound(t *testing.T) {
	clk := newFakeClock()
	t0 := clk.Now()
	nodes := []*Store{newTestStore(t, "a", clk), newTestStore(t, "b", clk), newTestStore(t, "c", clk)}
	var id uint64
	for _, s := range nodes {
		id = instanceID(svcA, mustRegister(t, s, svcA, timed("10.0.0.1")).InstanceKey)
	}
	p := nodes[0].partitionOf(svcA)
	owner := 0
	removedAt := time.Time{}
	for at := t0; at.Before(t0.Add(20 * time.Second)); at = at.Add(100 * time.Millisecond) {
		if at.Sub(t0)%(1500*time.Millisecond) == 0 && at.After(t0) {
			// The owner's last report, 100 ms before the move.
			h := &Hint{At: at.Add(-100 * time.Millisecond), Quiet: []Quiet{{ID: id, Age: at.Add(-100 * time.Millisecond).Sub(t0)}}}
			owner = (owner + 1) % len(nodes)
			clk.Set(at)
			nodes[owner].TakeOver([]int{p}, func(int) *Hint { return h })
		}
		clk.Set(at)
		for i, s := range nodes {
			owns := func(Key) bool { return i == owner }
			for _, tr := range s.Sweep(owns) {
				if tr.Removed && removedAt.IsZero() {
					removedAt = at
				}
			}
		}
	}
	if limit := t0.Add(7 * time.Second); removedAt.IsZero() || removedAt.After(limit) {
		t.Fatalf("removed at %v after its last beat (zero: never), want by %v", removedAt.Sub(t0), limit.Sub(t0))
	}
}

func TestTakeOver_directEvidenceWins(t *testing.T) {
	clk := newFakeClock()
	s := newTestStore(t, "taker", clk)
	t0 := clk.Now()
	in := mustRegister(t, s, svcA, timed("10.0.0.1"))
	clk.Set(t0.Add(3 * time.Second))
	if _, err := s.Beat(svcA, in.InstanceKey); err != nil { // a beat handled here when the owner was out of reach
		t.Fatal(err)
	}
	clk.Set(t0.Add(4 * time.Second))
	h := &Hint{At: t0.Add(3500 * time.Millisecond), Quiet: []Quiet{{ID: instanceID(svcA, in.InstanceKey), Age: 3500 * time.Millisecond}}}
	s.TakeOver([]int{s.partitionOf(svcA)}, func(int) *Hint { return h })
	unhealthy, removed := transitionsUntil(clk, s, t0.Add(20*time.Second))
	if got, want := unhealthy["10.0.0.1"], t0.Add(6*time.Second); !got.Equal(want) {
		t.Errorf("unhealthy at %v, want %v (beat timeout from the beat heard here)", got.Sub(t0), want.Sub(t0))
	}
	if got, want := removed["10.0.0.1"], t0.Add(9*time.Second); !got.Equal(want) {
		t.Errorf("removed at %v, want %v", got.Sub(t0), want.Sub(t0))
	}
}

func TestTakeOver_withoutReportIsAFreshTimeout(t *testing.T) {
	clk := newFakeClock()
	s := newTestStore(t, "taker", clk)
	t0 := clk.Now()
	mustRegister(t, s, svcA, timed("10.0.0.1"))
	clk.Set(t0.Add(4 * time.Second))
	s.TakeOver([]int{s.partitionOf(svcA)}, func(int) *Hint { return nil })
	unhealthy, removed := transitionsUntil(clk, s, t0.Add(20*time.Second))
	if got, want := unhealthy["10.0.0.1"], t0.Add(7*time.Second); !got.Equal(want) {
		t.Errorf("unhealthy at %v, want %v", got.Sub(t0), want.Sub(t0))
	}
	if got, want := removed["10.0.0.1"], t0.Add(10*time.Second); !got.Equal(want) {
		t.Errorf("removed at %v, want %v", got.Sub(t0), want.Sub(t0))
	}
}

func TestQuietIn(t *testing.T) {
	clk := newFakeClock()
	s := newTestStore(t, "owner", clk)
	t0 := clk.Now()
	a := mustRegister(t, s, svcA, timed("10.0.0.1"))
	b := mustRegister(t, s, svcA, timed("10.0.0.2"))
	persistent := timed("10.0.0.3")
	persistent.Ephemeral = false
	mustRegister(t, s, svcA, persistent)
	gone := mustRegister(t, s, svcA, timed("10.0.0.4"))
	if _, err := s.Deregister(svcA, gone.InstanceKey); err != nil {
		t.Fatal(err)
	}
	clk.Set(t0.Add(1400 * time.Millisecond))
	if _, err := s.Beat(svcA, b.InstanceKey); err != nil {
		t.Fatal(err)
	}
	p := s.partitionOf(svcA)
	if q, ok := s.QuietIn(p); !ok || len(q) != 0 {
		t.Fatalf("QuietIn at 1.4s got %v %v, want none (1.5 beat intervals not passed)", q, ok)
	}
	clk.Set(t0.Add(2 * time.Second))
	q, ok := s.QuietIn(p)
	if !ok || len(q) != 1 || q[0].ID != instanceID(svcA, a.InstanceKey) || q[0].Age != 2*time.Second {
		t.Fatalf("QuietIn at 2s got %+v %v, want only .1, quiet for 2s", q, ok)
	}
}

// TestQuietIn_followsTheInstance checks that the quiet threshold QuietIn
// keeps in each entry changes with the instance: a re-registration with a
// longer beat interval is not listed at the old threshold, and a
// deregistration drops it from the list.
func TestQuietIn_followsTheInstance(t *testing.T) {
	clk := newFakeClock()
	s := newTestStore(t, "owner", clk)
	t0 := clk.Now()
	in := mustRegister(t, s, svcA, timed("10.0.0.1"))
	slower := timed("10.0.0.1")
	slower.BeatInterval = 4 * time.Second // quiet after 6 s, its beat timeout
	mustRegister(t, s, svcA, slower)
	p := s.partitionOf(svcA)
	clk.Set(t0.Add(2 * time.Second))
	if q, ok := s.QuietIn(p); !ok || len(q) != 0 {
		t.Fatalf("QuietIn at 2s got %+v %v, want none (the new interval's 6 s not passed)", q, ok)
	}
	clk.Set(t0.Add(6001 * time.Millisecond))
	if q, _ := s.QuietIn(p); len(q) != 1 || q[0].ID != instanceID(svcA, in.InstanceKey) {
		t.Fatalf("QuietIn at 6.001s got %+v, want the instance", q)
	}
	if _, err := s.Deregister(svcA, in.InstanceKey); err != nil {
		t.Fatal(err)
	}
	if q, _ := s.QuietIn(p); len(q) != 0 {
		t.Fatalf("QuietIn after deregistering got %+v, want none", q)
	}
}

// TestTakeOver_inferredTimesAreNotReportedAsQuiet checks that an instance
// taken over unlisted (its last-beat time is then a lower bound, not a
// beat heard) is not reported quiet until this node, able to hear it since
// the takeover, has not for QuietAfter; a beating instance would otherwise
// be reported quiet to the next owner at once.
func TestTakeOver_inferredTimesAreNotReportedAsQuiet(t *testing.T) {
	clk := newFakeClock()
	s := newTestStore(t, "taker", clk)
	t0 := clk.Now()
	in := mustRegister(t, s, svcA, timed("10.0.0.1"))
	clk.Set(t0.Add(10 * time.Second))
	p := s.partitionOf(svcA)
	s.TakeOver([]int{p}, func(int) *Hint { return &Hint{At: t0.Add(9900 * time.Millisecond)} })
	clk.Set(t0.Add(11 * time.Second))
	if q, _ := s.QuietIn(p); len(q) != 0 {
		t.Fatalf("QuietIn 1 s after the takeover got %+v, want none", q)
	}
	clk.Set(t0.Add(11600 * time.Millisecond))
	q, _ := s.QuietIn(p)
	if want := 11600*time.Millisecond - 8400*time.Millisecond; len(q) != 1 || q[0].ID != instanceID(svcA, in.InstanceKey) || q[0].Age != want {
		t.Fatalf("QuietIn 1.6 s after the takeover got %+v, want it quiet for %v (from the report's lower bound)", q, want)
	}
}
