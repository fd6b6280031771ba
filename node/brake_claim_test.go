package node

import (
	"testing"
	"time"
)

// TestBrake_clientReportsNeedTheNodesOwnOverload: a client's report of
// beats leaving late holds expiries only while the node's own signals
// showed overload within brakeClaimGuard: alone it engages nothing, and
// reports that go on cannot hold the brake longer than that past the
// node's own last signal.
func TestBrake_clientReportsNeedTheNodesOwnOverload(t *testing.T) {
	const lag = time.Second
	t0 := time.Unix(1_000_000, 0)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	cases := []struct {
		name     string
		own      time.Duration // the node's own signal, before now (0: none)
		reported time.Duration // the client's report, before now (0: none)
		held     bool
	}{
		{"a report alone", 0, 100 * time.Millisecond, false},
		{"a report, own overload 10 s ago", 10 * time.Second, 100 * time.Millisecond, true},
		{"a report, own overload 31 s ago", 31 * time.Second, 100 * time.Millisecond, false},
		{"an old report, own overload 10 s ago", 10 * time.Second, 3 * time.Second, false},
	}
	for _, c := range cases {
		b := &brake{}
		now := at(time.Minute)
		if c.own > 0 {
			b.ownAt.Store(now.Add(-c.own).UnixNano())
		}
		if c.reported > 0 {
			b.lateAt.Store(now.Add(-c.reported).UnixNano())
		}
		held, _, why := b.check(now, lag)
		if held != c.held {
			t.Errorf("%s: held %v, want %v", c.name, held, c.held)
		}
		if held && why != "clients report beats leaving late for this busy node" {
			t.Errorf("%s: engaged by %q", c.name, why)
		}
	}
}

// TestNoteBeatsLate_onlyPastTheLag: reports of beats later than the lag
// count, earlier ones do not.
func TestNoteBeatsLate_onlyPastTheLag(t *testing.T) {
	n := alone(t)
	n.NoteBeatsLate(n.cfg.ExpiryBrakeLag)
	if n.brake.lateAt.Load() != 0 {
		t.Error("a report of beats exactly the lag late counted")
	}
	n.NoteBeatsLate(n.cfg.ExpiryBrakeLag + time.Millisecond)
	if n.brake.lateAt.Load() == 0 {
		t.Error("a report of beats past the lag did not count")
	}
}
