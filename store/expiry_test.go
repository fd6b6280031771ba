package store

import (
	"errors"
	"testing"
	"time"
)

// expiring returns an ephemeral instance with the given timeouts.
func expiring(ip string, beatTimeout, deleteTimeout time.Duration) Instance {
	in := inst(ip, 80)
	in.BeatTimeout, in.DeleteTimeout = beatTimeout, deleteTimeout
	return in
}

// sweepAt sets the clock to at and sweeps every service.
func sweepAt(clk *fakeClock, s *Store, at time.Time) []Transition {
	clk.Set(at)
	return s.Sweep(nil)
}

func TestSweep_exactDeadlines(t *testing.T) {
	clk := newFakeClock()
	s := newTestStore(t, "n1", clk)
	t0 := clk.Now()
	reg := mustRegister(t, s, svcA, inst("10.0.0.1", 80)) // 15s / 30s defaults
	unhealthyAt, removedAt := t0.Add(DefaultBeatTimeout), t0.Add(DefaultDeleteTimeout)

	steps := []struct {
		name        string
		at          time.Time
		wantRemoved []bool // one entry per transition
		wantHealthy bool
		wantFound   bool
	}{
		{"just before unhealthy", unhealthyAt.Add(-time.Nanosecond), nil, true, true},
		{"at unhealthy", unhealthyAt, []bool{false}, false, true},
		{"again at unhealthy", unhealthyAt, nil, false, true},
		{"just before removal", removedAt.Add(-time.Nanosecond), nil, false, true},
		{"at removal", removedAt, []bool{true}, false, false},
		{"long after", removedAt.Add(time.Hour), nil, false, false},
	}
	prev := reg.Version
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			trs := sweepAt(clk, s, st.at)
			if len(trs) != len(st.wantRemoved) {
				t.Fatalf("transitions got %+v, want %d", trs, len(st.wantRemoved))
			}
			for i, tr := range trs {
				wantDeadline := unhealthyAt
				if st.wantRemoved[i] {
					wantDeadline = removedAt
				}
				if tr.Removed != st.wantRemoved[i] || tr.Instance.Deleted != tr.Removed || tr.Key != svcA ||
					tr.Instance.InstanceKey != reg.InstanceKey || !tr.Deadline.Equal(wantDeadline) {
					t.Errorf("transition got %+v, want removed=%v deadline %v", tr, st.wantRemoved[i], wantDeadline)
				}
				if tr.Instance.Healthy {
					t.Errorf("transition instance got healthy, want unhealthy")
				}
				if !prev.Less(tr.Instance.Version) {
					t.Errorf("transition version got %v, want newer than %v", tr.Instance.Version, prev)
				}
				prev = tr.Instance.Version
			}
			got, ok := s.Snapshot(svcA).Find(reg.InstanceKey)
			if ok != st.wantFound || (ok && got.Healthy != st.wantHealthy) {
				t.Errorf("Find got healthy=%v found=%v, want %v %v", got.Healthy, ok, st.wantHealthy, st.wantFound)
			}
		})
	}
	checkSnapshots(t, s)
}

// A sweep long after both deadlines makes both transitions at once.
func TestSweep_lateSweepDoesBoth(t *testing.T) {
	clk := newFakeClock()
	s := newTestStore(t, "n1", clk)
	t0 := clk.Now()
	mustRegister(t, s, svcA, expiring("10.0.0.1", time.Second, 2*time.Second))
	trs := sweepAt(clk, s, t0.Add(time.Minute))
	if len(trs) != 2 || trs[0].Removed || !trs[1].Removed {
		t.Fatalf("transitions got %+v, want unhealthy then removed", trs)
	}
	if !trs[0].Deadline.Equal(t0.Add(time.Second)) || !trs[1].Deadline.Equal(t0.Add(2*time.Second)) {
		t.Errorf("deadlines got %v %v, want %v %v", trs[0].Deadline, trs[1].Deadline, t0.Add(time.Second), t0.Add(2*time.Second))
	}
	if !trs[0].Instance.Version.Less(trs[1].Instance.Version) {
		t.Errorf("versions got %v then %v, want increasing", trs[0].Instance.Version, trs[1].Instance.Version)
	}
	if got := s.Len(); got != 0 {
		t.Errorf("Len got %d, want 0", got)
	}
}

func TestSweep_beatsPushDeadlines(t *testing.T) {
	clk := newFakeClock()
	s := newTestStore(t, "n1", clk)
	t0 := clk.Now()
	reg := mustRegister(t, s, svcA, expiring("10.0.0.1", 10*time.Second, 20*time.Second))

	for i := 1; i <= 5; i++ { // beat every 8s; never expires
		if trs := sweepAt(clk, s, t0.Add(time.Duration(i)*8*time.Second)); len(trs) != 0 {
			t.Fatalf("sweep %d got %+v, want none", i, trs)
		}
		if _, err := s.Beat(svcA, reg.InstanceKey); err != nil {
			t.Fatalf("Beat: %v", err)
		}
	}
	last := t0.Add(40 * time.Second)
	if next, ok := s.NextDeadline(); !ok || next.After(last.Add(10*time.Second)) {
		t.Errorf("NextDeadline got %v %v, want at or before %v", next, ok, last.Add(10*time.Second))
	}
	if trs := sweepAt(clk, s, last.Add(10*time.Second-time.Nanosecond)); len(trs) != 0 {
		t.Fatalf("sweep before pushed deadline got %+v, want none", trs)
	}
	if next, ok := s.NextDeadline(); !ok || !next.Equal(last.Add(10*time.Second)) {
		t.Errorf("NextDeadline got %v %v, want %v", next, ok, last.Add(10*time.Second))
	}
	trs := sweepAt(clk, s, last.Add(10*time.Second))
	if len(trs) != 1 || trs[0].Removed || !trs[0].Deadline.Equal(last.Add(10*time.Second)) {
		t.Fatalf("sweep at pushed deadline got %+v, want one unhealthy due %v", trs, last.Add(10*time.Second))
	}

	// A beat on the unhealthy instance heals it and restarts both timers.
	clk.Set(last.Add(15 * time.Second))
	res, err := s.Beat(svcA, reg.InstanceKey)
	if err != nil || !res.Changed || !res.Instance.Healthy {
		t.Fatalf("Beat unhealthy got %+v %v, want changed and healthy", res, err)
	}
	if !trs[0].Instance.Version.Less(res.Instance.Version) {
		t.Errorf("heal version got %v, want newer than %v", res.Instance.Version, trs[0].Instance.Version)
	}
	healed := last.Add(15 * time.Second)
	// The old removal deadline (last+20s) must not remove it.
	if trs := sweepAt(clk, s, healed.Add(10*time.Second-time.Nanosecond)); len(trs) != 0 {
		t.Fatalf("sweep after heal got %+v, want none", trs)
	}
	trs = sweepAt(clk, s, healed.Add(10*time.Second))
	if len(trs) != 1 || trs[0].Removed || !trs[0].Deadline.Equal(healed.Add(10*time.Second)) {
		t.Fatalf("sweep after heal got %+v, want unhealthy due %v", trs, healed.Add(10*time.Second))
	}
	trs = sweepAt(clk, s, healed.Add(20*time.Second))
	if len(trs) != 1 || !trs[0].Removed {
		t.Fatalf("sweep at removal got %+v, want removed", trs)
	}
	if _, err := s.Beat(svcA, reg.InstanceKey); !errors.Is(err, ErrNotFound) {
		t.Errorf("Beat removed got %v, want %v", err, ErrNotFound)
	}
}

func TestSweep_persistentNeverExpires(t *testing.T) {
	clk := newFakeClock()
	s := newTestStore(t, "n1", clk)
	p := expiring("10.0.0.1", time.Second, 2*time.Second)
	p.Ephemeral = false
	reg := mustRegister(t, s, svcA, p)
	e := mustRegister(t, s, svcA, expiring("10.0.0.2", time.Second, 2*time.Second))
	// An ephemeral instance turned persistent stops expiring as well.
	if _, err := s.Update(svcA, e.InstanceKey, func(in *Instance) { in.Ephemeral = false }); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 10; i++ {
		if trs := sweepAt(clk, s, epoch.Add(time.Duration(i)*time.Hour)); len(trs) != 0 {
			t.Fatalf("sweep got %+v, want none", trs)
		}
		if _, err := s.Beat(svcA, reg.InstanceKey); err != nil {
			t.Fatalf("Beat persistent: %v", err)
		}
	}
	snap := s.Snapshot(svcA)
	if len(snap.Instances) != 2 || snap.Healthy() != 2 {
		t.Errorf("instances got %d (%d healthy), want 2 healthy", len(snap.Instances), snap.Healthy())
	}
}

func TestSweep_ownsAndRefresh(t *testing.T) {
	clk := newFakeClock()
	s := newTestStore(t, "n1", clk)
	t0 := clk.Now()
	a := mustRegister(t, s, svcA, expiring("10.0.0.1", 10*time.Second, 20*time.Second))
	mustRegister(t, s, svcB, expiring("10.0.0.2", 10*time.Second, 20*time.Second))
	ownsB := func(k Key) bool { return k == svcB }

	clk.Set(t0.Add(time.Hour))
	trs := s.Sweep(ownsB)
	if len(trs) != 2 || trs[0].Key != svcB || trs[1].Key != svcB {
		t.Fatalf("sweep owning b got %+v, want two transitions of b", trs)
	}
	if got, ok := s.Snapshot(svcA).Find(a.InstanceKey); !ok || !got.Healthy {
		t.Fatalf("unowned instance got healthy=%v found=%v, want healthy", got.Healthy, ok)
	}
	// Skipped items are not re-armed by later sweeps.
	clk.Advance(time.Hour)
	if trs := s.Sweep(nil); len(trs) != 0 {
		t.Fatalf("sweep after skip got %+v, want none until Refresh", trs)
	}

	// Ownership arrives: a full fresh timeout from now.
	took := clk.Now()
	s.Refresh(svcA)
	s.Refresh(Key{Namespace: "none", Group: "none", Service: "none"}) // missing: no-op
	if next, ok := s.NextDeadline(); !ok || !next.Equal(took.Add(10*time.Second)) {
		t.Errorf("NextDeadline after Refresh got %v %v, want %v", next, ok, took.Add(10*time.Second))
	}
	if trs := sweepAt(clk, s, took.Add(10*time.Second-time.Nanosecond)); len(trs) != 0 {
		t.Fatalf("sweep before refreshed deadline got %+v, want none", trs)
	}
	trs = sweepAt(clk, s, took.Add(10*time.Second))
	if len(trs) != 1 || trs[0].Key != svcA || trs[0].Removed || !trs[0].Deadline.Equal(took.Add(10*time.Second)) {
		t.Fatalf("sweep at refreshed deadline got %+v, want a unhealthy due %v", trs, took.Add(10*time.Second))
	}

	// Refresh of an unhealthy instance restarts its delete timer.
	took2 := took.Add(15 * time.Second)
	clk.Set(took2)
	s.Refresh(svcA)
	if trs := sweepAt(clk, s, took2.Add(20*time.Second-time.Nanosecond)); len(trs) != 0 {
		t.Fatalf("sweep before refreshed delete deadline got %+v, want none", trs)
	}
	trs = sweepAt(clk, s, took2.Add(20*time.Second))
	if len(trs) != 1 || !trs[0].Removed || !trs[0].Deadline.Equal(took2.Add(20*time.Second)) {
		t.Fatalf("sweep at refreshed delete deadline got %+v, want removed due %v", trs, took2.Add(20*time.Second))
	}
}

func TestStore_NextDeadlineAndWake(t *testing.T) {
	clk := newFakeClock()
	s := newTestStore(t, "n1", clk)
	t0 := clk.Now()
	woke := func() bool {
		select {
		case <-s.Wake():
			return true
		default:
			return false
		}
	}
	if _, ok := s.NextDeadline(); ok {
		t.Errorf("NextDeadline of empty store got ok, want none")
	}
	persistent := inst("10.0.0.9", 80)
	persistent.Ephemeral = false
	mustRegister(t, s, svcA, persistent)
	if next, ok := s.NextDeadline(); ok || woke() {
		t.Errorf("persistent instance got deadline %v (ok %v), want none and no wake", next, ok)
	}

	steps := []struct {
		name     string
		in       Instance
		wantNext time.Time
		wantWake bool
	}{
		{"first", expiring("10.0.0.1", 20*time.Second, 40*time.Second), t0.Add(20 * time.Second), true},
		{"later", expiring("10.0.0.2", 30*time.Second, 40*time.Second), t0.Add(20 * time.Second), false},
		{"earlier", expiring("10.0.0.3", 5*time.Second, 40*time.Second), t0.Add(5 * time.Second), true},
		{"later again", expiring("10.0.0.5", 6*time.Second, 40*time.Second), t0.Add(5 * time.Second), false},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			mustRegister(t, s, svcA, st.in)
			if got := woke(); got != st.wantWake {
				t.Errorf("woke got %v, want %v", got, st.wantWake)
			}
			if got, ok := s.NextDeadline(); !ok || !got.Equal(st.wantNext) {
				t.Errorf("NextDeadline got %v %v, want %v", got, ok, st.wantNext)
			}
		})
	}

	// A re-registration with a shorter timeout moves the deadline earlier.
	mustRegister(t, s, svcA, expiring("10.0.0.2", time.Second, 40*time.Second))
	if !woke() {
		t.Errorf("woke after earlier re-registration got false, want true")
	}
	if got, _ := s.NextDeadline(); !got.Equal(t0.Add(time.Second)) {
		t.Errorf("NextDeadline got %v, want %v", got, t0.Add(time.Second))
	}
}

// Beating a persistent instance must not schedule expiry checks for it.
func TestBeat_persistentSchedulesNothing(t *testing.T) {
	clk := newFakeClock()
	s := newTestStore(t, "n1", clk)
	p := inst("10.0.0.1", 80)
	p.Ephemeral = false
	mustRegister(t, s, svcA, p)
	if _, err := s.Beat(svcA, p.InstanceKey); err != nil {
		t.Fatal(err)
	}
	if next, ok := s.NextDeadline(); ok {
		t.Errorf("NextDeadline got %v, want none for a persistent instance", next)
	}
}
