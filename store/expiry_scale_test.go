package store

import (
	"errors"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

// expiryModel is the test's own account of one instance's timers.
type expiryModel struct {
	key           Key
	ik            InstanceKey
	beatTimeout   time.Duration
	deleteTimeout time.Duration
	registerAt    time.Duration // offset from the start
	registered    bool
	lastBeat      time.Time
	healthy       bool
	removed       bool
}

// removesNext reports whether the model's next transition is its removal:
// it is unhealthy already, or its delete timeout is not longer than its
// beat timeout, so it is removed without turning unhealthy first.
func (m *expiryModel) removesNext() bool {
	return !m.healthy || m.deleteTimeout <= m.beatTimeout
}

// due is when the model's next transition is due.
func (m *expiryModel) due() time.Time {
	if m.removesNext() {
		return m.lastBeat.Add(m.deleteTimeout)
	}
	return m.lastBeat.Add(m.beatTimeout)
}

// expiryFleet is n instances over many services with staggered
// registration times and timeouts; about a fifth have a delete timeout
// no longer than their beat timeout.
type expiryFleet struct {
	models []expiryModel
	byIP   map[string]int
}

func newExpiryFleet(rng *rand.Rand, n int, regSpread time.Duration) *expiryFleet {
	f := &expiryFleet{models: make([]expiryModel, n), byIP: make(map[string]int, n)}
	for i := range f.models {
		ip := "10." + strconv.Itoa(i>>16&255) + "." + strconv.Itoa(i>>8&255) + "." + strconv.Itoa(i&255)
		bt := time.Duration(1000+rng.IntN(9000)) * time.Millisecond
		f.models[i] = expiryModel{
			key:           Key{Namespace: DefaultNamespace, Group: DefaultGroup, Service: "svc" + strconv.Itoa(i%500)},
			ik:            ik(ip, 8080),
			beatTimeout:   bt,
			deleteTimeout: max(bt+time.Duration(rng.IntN(10000)-2000)*time.Millisecond, 500*time.Millisecond),
			registerAt:    time.Duration(rng.Int64N(int64(regSpread/time.Millisecond))) * time.Millisecond,
		}
		f.byIP[ip] = i
	}
	return f
}

func (f *expiryFleet) instance(i int) Instance {
	m := &f.models[i]
	in := inst(m.ik.IP, m.ik.Port)
	in.BeatTimeout, in.DeleteTimeout = m.beatTimeout, m.deleteTimeout
	return in
}

// TestSweep_manyInstancesOnTime checks the expiry property at scale in
// fake time: with 100,000 instances (fewer under -race) registering at
// staggered times, some beating, some healing, a sweeper that runs at
// irregular steps makes every transition in the first sweep at or after
// its deadline, never before, and with the deadline the model predicts.
func TestSweep_manyInstancesOnTime(t *testing.T) {
	n := 100_000
	if raceEnabled || testing.Short() {
		n = 10_000
	}
	rng := newRand(testSeed(t))
	clk := newFakeClock()
	s := newTestStore(t, "n1", clk)
	start := clk.Now()
	const (
		regSpread = 2 * time.Second
		beatUntil = 12 * time.Second
	)
	f := newExpiryFleet(rng, n, regSpread)
	pending := make([]int, n) // registration order
	for i := range pending {
		pending[i] = i
	}
	sortByRegistration(pending, f)

	prev := start
	var removed, unhealthy, direct, heals, beats, sweeps int
	for removed < n {
		// Steps are mostly whole milliseconds, so many deadlines fall
		// exactly on a sweep; some carry a sub-millisecond jitter.
		step := time.Duration(1+rng.IntN(25)) * time.Millisecond
		if rng.IntN(10) == 0 {
			step += time.Duration(rng.IntN(1_000_000))
		}
		now := clk.Advance(step)
		if now.Sub(start) > 10*time.Minute {
			t.Fatalf("only %d of %d removed after 10m of fake time", removed, n)
		}
		sweeps++
		for _, tr := range s.Sweep(nil) {
			i, ok := f.byIP[tr.Instance.IP]
			if !ok {
				t.Fatalf("transition of unknown instance %v", tr.Instance.InstanceKey)
			}
			m := &f.models[i]
			want := m.due()
			switch {
			case !m.registered || m.removed:
				t.Fatalf("transition %+v of an instance that is not live", tr)
			case tr.Removed != m.removesNext():
				t.Fatalf("%v: got removed=%v, want removed=%v", m.ik, tr.Removed, m.removesNext())
			case !tr.Deadline.Equal(want):
				t.Fatalf("%v: got deadline %v, want %v", m.ik, tr.Deadline, want)
			case want.After(now):
				t.Fatalf("%v: transition at %v before its deadline %v", m.ik, now, want)
			case !want.After(prev):
				t.Fatalf("%v: transition at %v, want in the first sweep at or after %v (previous sweep %v)", m.ik, now, want, prev)
			}
			if tr.Removed {
				if m.healthy {
					direct++
				}
				m.removed = true
				removed++
			} else {
				m.healthy = false
				unhealthy++
			}
		}
		prev = now

		for len(pending) > 0 && !start.Add(f.models[pending[0]].registerAt).After(now) {
			i := pending[0]
			pending = pending[1:]
			m := &f.models[i]
			mustRegister(t, s, m.key, f.instance(i))
			m.registered, m.healthy, m.lastBeat = true, true, now
		}
		if now.Sub(start) < beatUntil {
			for range 20 {
				i := rng.IntN(n)
				m := &f.models[i]
				if !m.registered {
					continue
				}
				beats++
				res, err := s.Beat(m.key, m.ik)
				if m.removed {
					if !errors.Is(err, ErrNotFound) {
						t.Fatalf("%v: Beat after removal got %v, want %v", m.ik, err, ErrNotFound)
					}
					continue
				}
				if err != nil || res.Changed == m.healthy {
					t.Fatalf("%v: Beat got changed=%v err=%v, want changed=%v", m.ik, res.Changed, err, !m.healthy)
				}
				if res.Changed {
					heals++
				}
				m.healthy, m.lastBeat = true, now
			}
		}
	}
	if got := s.Len(); got != 0 {
		t.Errorf("Len after all removed got %d, want 0", got)
	}
	if unhealthy+direct != n+heals {
		t.Errorf("unhealthy transitions got %d and direct removals %d, want %d together (one per instance plus one per heal)",
			unhealthy, direct, n+heals)
	}
	if direct == 0 {
		t.Errorf("no instance was removed before turning unhealthy; the test does not exercise a short delete timeout")
	}
	if heals == 0 {
		t.Errorf("no beat healed an instance; the test does not exercise healing")
	}
	t.Logf("%d instances, %d sweeps, %d beats, %d heals, %d direct removals, %v fake time",
		n, sweeps, beats, heals, direct, prev.Sub(start))
}

func sortByRegistration(order []int, f *expiryFleet) {
	// Counting sort by millisecond of registration keeps setup cheap.
	buckets := map[time.Duration][]int{}
	var maxAt time.Duration
	for _, i := range order {
		at := f.models[i].registerAt
		buckets[at] = append(buckets[at], i)
		maxAt = max(maxAt, at)
	}
	order = order[:0]
	for at := time.Duration(0); at <= maxAt; at += time.Millisecond {
		order = append(order, buckets[at]...)
	}
}
