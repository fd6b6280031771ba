package store

import (
	"math"
	"testing"
	"time"
)

// The beat and delete deadlines run independently from the last beat: a
// delete timeout shorter than the beat timeout removes the instance at the
// delete timeout, without reporting it unhealthy first.
func TestSweep_independentDeadlines(t *testing.T) {
	type step struct {
		at      time.Duration // after registration
		removed []bool        // one entry per transition
	}
	cases := []struct {
		name          string
		beat, delete  time.Duration
		wantNext      time.Duration // NextDeadline after registration
		steps         []step
		wantLen       int
		wantDeadlines []time.Duration
	}{
		{"delete before beat", 4 * time.Second, time.Second, time.Second, []step{
			{time.Second - time.Nanosecond, nil},
			{time.Second, []bool{true}},
			{4 * time.Second, nil},
		}, 0, []time.Duration{time.Second}},
		{"delete with beat", 2 * time.Second, 2 * time.Second, 2 * time.Second, []step{
			{2*time.Second - time.Nanosecond, nil},
			{2 * time.Second, []bool{true}},
		}, 0, []time.Duration{2 * time.Second}},
		{"late sweep, delete before beat", 4 * time.Second, time.Second, time.Second, []step{
			{time.Hour, []bool{true}},
		}, 0, []time.Duration{time.Second}},
		{"normal order", 15 * time.Second, 30 * time.Second, 15 * time.Second, []step{
			{15*time.Second - time.Nanosecond, nil},
			{15 * time.Second, []bool{false}},
			{30*time.Second - time.Nanosecond, nil},
			{30 * time.Second, []bool{true}},
		}, 0, []time.Duration{15 * time.Second, 30 * time.Second}},
		{"late sweep, normal order", 15 * time.Second, 30 * time.Second, 15 * time.Second, []step{
			{time.Hour, []bool{false, true}},
		}, 0, []time.Duration{15 * time.Second, 30 * time.Second}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clk := newFakeClock()
			s := newTestStore(t, "n1", clk)
			t0 := clk.Now()
			reg := mustRegister(t, s, svcA, expiring("10.0.0.1", c.beat, c.delete))
			if next, ok := s.NextDeadline(); !ok || !next.Equal(t0.Add(c.wantNext)) {
				t.Errorf("NextDeadline got %v %v, want %v", next, ok, t0.Add(c.wantNext))
			}
			var deadlines []time.Duration
			for _, st := range c.steps {
				trs := sweepAt(clk, s, t0.Add(st.at))
				if len(trs) != len(st.removed) {
					t.Fatalf("sweep at +%v got %+v, want %d transitions", st.at, trs, len(st.removed))
				}
				for i, tr := range trs {
					if tr.Removed != st.removed[i] || tr.Instance.Deleted != tr.Removed || tr.Instance.Healthy {
						t.Errorf("sweep at +%v transition %d got %+v, want removed=%v", st.at, i, tr, st.removed[i])
					}
					deadlines = append(deadlines, tr.Deadline.Sub(t0))
				}
			}
			if len(deadlines) != len(c.wantDeadlines) {
				t.Fatalf("deadlines got %v, want %v", deadlines, c.wantDeadlines)
			}
			for i := range deadlines {
				if deadlines[i] != c.wantDeadlines[i] {
					t.Errorf("deadline %d got +%v, want +%v", i, deadlines[i], c.wantDeadlines[i])
				}
			}
			if _, ok := s.Snapshot(svcA).Find(reg.InstanceKey); ok || s.Len() != c.wantLen {
				t.Errorf("after the steps found=%v Len=%d, want gone", ok, s.Len())
			}
			checkSnapshots(t, s)
		})
	}
}

// A beat pushes both deadlines, and one on an instance marked unhealthy
// revives it, whichever timeout is shorter.
func TestSweep_beatPushesShortDelete(t *testing.T) {
	clk := newFakeClock()
	s := newTestStore(t, "n1", clk)
	t0 := clk.Now()
	reg := mustRegister(t, s, svcA, expiring("10.0.0.1", 4*time.Second, time.Second))
	clk.Set(t0.Add(900 * time.Millisecond))
	if _, err := s.Beat(svcA, reg.InstanceKey); err != nil {
		t.Fatal(err)
	}
	beat := clk.Now()
	if trs := sweepAt(clk, s, beat.Add(time.Second-time.Nanosecond)); len(trs) != 0 {
		t.Fatalf("sweep before pushed delete got %+v, want none", trs)
	}
	trs := sweepAt(clk, s, beat.Add(time.Second))
	if len(trs) != 1 || !trs[0].Removed || !trs[0].Deadline.Equal(beat.Add(time.Second)) {
		t.Fatalf("sweep at pushed delete got %+v, want removed due %v", trs, beat.Add(time.Second))
	}

	// The usual order: unhealthy first, and a beat heals it.
	reg = mustRegister(t, s, svcA, expiring("10.0.0.2", time.Second, 4*time.Second))
	t1 := clk.Now()
	if trs := sweepAt(clk, s, t1.Add(time.Second)); len(trs) != 1 || trs[0].Removed {
		t.Fatalf("sweep at beat timeout got %+v, want one unhealthy", trs)
	}
	res, err := s.Beat(svcA, reg.InstanceKey)
	if err != nil || !res.Changed || !res.Instance.Healthy {
		t.Fatalf("Beat unhealthy got %+v %v, want healed", res, err)
	}
}

// sweepWithin sweeps every service and fails the test if the sweep does
// not return within 5 s (it would spin under the store lock for ever).
func sweepWithin(t *testing.T, s *Store) []Transition {
	t.Helper()
	done := make(chan []Transition, 1)
	go func() { done <- s.Sweep(nil) }()
	select {
	case trs := <-done:
		return trs
	case <-time.After(5 * time.Second):
		t.Fatal("Sweep did not return: it spins on an overflowed deadline")
		return nil
	}
}

// hugeTimeouts are peer-supplied timeouts whose deadline overflows, lands
// exactly on the largest time, or is huge but representable.
func hugeTimeouts() map[string]time.Duration {
	return map[string]time.Duration{
		"10.0.0.1": math.MaxInt64,
		"10.0.0.2": time.Duration(math.MaxInt64 - ev(0)),
		"10.0.0.3": time.Duration(math.MaxInt64 - ev(0) - 1),
		"10.0.0.4": math.MaxInt64 / 2,
	}
}

// An instance merged from a peer with timeouts whose deadline is past what
// the clock can hold never expires, and the sweeper never spins on it.
func TestSweep_hugeTimeoutsNeverExpire(t *testing.T) {
	clk := newFakeClock()
	s := newTestStore(t, "n1", clk)
	clock := ev(1)
	for ip, d := range hugeTimeouts() {
		in := expiring(ip, d, d)
		clock++
		in.Version = Version{Clock: clock, Node: "n2"}
		if !s.Merge(svcA, in) {
			t.Fatalf("Merge %s got false, want applied", ip)
		}
	}
	in := expiring("10.0.0.5", math.MaxInt64, math.MaxInt64)
	in.Version = Version{Clock: clock + 1, Node: "n2"}
	if applied, re := s.MergeGuarded(svcA, in, true); !applied || re != nil {
		t.Fatalf("MergeGuarded got %v %+v, want applied", applied, re)
	}
	s.mu.Lock()
	queued := len(s.heap)
	s.mu.Unlock()
	if queued > 2 { // only the two representable deadlines
		t.Errorf("heap got %d items, want at most 2", queued)
	}

	clk.Advance(100 * 365 * 24 * time.Hour)
	for i := range 2 {
		if trs := sweepWithin(t, s); len(trs) != 0 {
			t.Fatalf("sweep %d got %+v, want none", i, trs)
		}
		s.mu.Lock()
		n := len(s.heap)
		s.mu.Unlock()
		if n > queued {
			t.Errorf("sweep %d: heap grew from %d to %d items", i, queued, n)
		}
		if next, ok := s.NextDeadline(); ok && !next.After(clk.Now()) {
			t.Errorf("sweep %d: NextDeadline got %v, want none or after %v", i, next, clk.Now())
		}
	}
	snap := s.Snapshot(svcA)
	if len(snap.Instances) != 5 || snap.Healthy() != 5 {
		t.Errorf("instances got %d (%d healthy), want 5 healthy", len(snap.Instances), snap.Healthy())
	}
}

// Refresh, beats and an unhealthy mark re-arm huge timeouts without
// overflowing either.
func TestSweep_hugeTimeoutsRearmSafely(t *testing.T) {
	clk := newFakeClock()
	s := newTestStore(t, "n1", clk)
	in := expiring("10.0.0.1", time.Second, math.MaxInt64)
	in.Version = Version{Clock: ev(1), Node: "n2"}
	if !s.Merge(svcA, in) {
		t.Fatal("Merge got false, want applied")
	}
	clk.Advance(time.Hour)
	if trs := sweepWithin(t, s); len(trs) != 1 || trs[0].Removed {
		t.Fatalf("sweep got %+v, want one unhealthy", trs)
	}
	s.Refresh(svcA)
	if _, err := s.Beat(svcA, in.InstanceKey); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		clk.Advance(1000 * time.Hour)
		if trs := sweepWithin(t, s); len(trs) != 1 || trs[0].Removed {
			t.Fatalf("sweep %d got %+v, want one unhealthy", i, trs)
		}
		if next, ok := s.NextDeadline(); ok {
			t.Errorf("NextDeadline got %v, want none", next)
		}
		s.Refresh(svcA)
		if _, err := s.Beat(svcA, in.InstanceKey); err != nil {
			t.Fatal(err)
		}
	}
}

// A re-assertion's Heard is kept within one beat timeout back from now,
// whatever timeout the peer sends: a negative one cannot overflow the
// bound and let an old Heard through.
func TestMerge_heardClampSaturates(t *testing.T) {
	clk := newFakeClock()
	s := newTestStore(t, "n1", clk)
	t0 := clk.Now()
	in := expiring("10.0.0.1", time.Hour, time.Hour)
	in.BeatTimeout = -math.MaxInt64
	in.Heard = 1 // 1970
	in.Version = Version{Clock: ev(1), Node: "n2"}
	if !s.Merge(svcA, in) {
		t.Fatal("Merge got false, want applied")
	}
	// Counted from now, the delete timeout is an hour away; counted from
	// 1970 it passed long ago.
	clk.Set(t0.Add(time.Second))
	for _, tr := range sweepWithin(t, s) {
		if tr.Removed {
			t.Fatalf("sweep got %+v, want the instance kept for its delete timeout", tr)
		}
	}
	if _, ok := s.Snapshot(svcA).Find(in.InstanceKey); !ok {
		t.Errorf("instance got removed, want kept until %v", t0.Add(time.Hour))
	}
}
