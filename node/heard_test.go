package node

import (
	"fmt"
	"testing"
	"time"

	"github.com/roster-io/roster/peer"
	"github.com/roster-io/roster/store"
)

// takeoverCase is a silent instance's takeover after its owner's last
// report: the report arrives at t0 without listing the instance, which
// beats until lastBeat and falls silent; the owner's own state is last
// known at ownerGone (its crash, or the report that drops the partition);
// the takeover comes at takeover.
type takeoverCase struct {
	holds               time.Duration // the refresh the report promises
	lastBeat, ownerGone time.Duration
	dropAt              time.Duration // when the owner reports no longer owning it (0: never)
	departs             time.Duration // when this node sees the owner leave the cluster (0: not before the takeover)
	takeover            time.Duration
}

// removedAfterTakeover runs c through HandleHeard, hintsAt and the store's
// TakeOver and sweeps, on an injected clock, and returns when the
// instance was removed, from t0 (-1: not within a minute).
func removedAfterTakeover(t *testing.T, c takeoverCase) time.Duration {
	t.Helper()
	t0 := time.Unix(1_700_000_000, 0)
	now := t0.Add(-20 * time.Second)
	clock := func() time.Time { return now }
	s := storeWithOne(t, clock, 5*time.Second, 15*time.Second, 30*time.Second)
	n := &Node{cfg: Config{Now: clock}}
	owner := peer.Member{Name: "owner", Epoch: 1}
	now = t0
	n.HandleHeard(owner, 1, []peer.Heard{{Partition: 0, Holds: c.holds}})
	if c.dropAt > 0 {
		now = t0.Add(c.dropAt)
		n.HandleHeard(owner, 2, []peer.Heard{{Partition: 1, Holds: c.holds}})
	}
	if c.departs > 0 {
		now = t0.Add(c.departs)
		n.heard.departed(map[string]Member{}, now, time.Minute)
	}
	now = t0.Add(c.takeover)
	s.TakeOver([]int{0}, n.heard.hintsAt(now, 10*time.Second))
	for ; now.Before(t0.Add(time.Minute)); now = now.Add(50 * time.Millisecond) {
		for _, tr := range s.Sweep(func(store.Key) bool { return true }) {
			if tr.Removed {
				return now.Sub(t0)
			}
		}
	}
	return -1
}

// storeWithOne returns a store on clock holding one ephemeral instance of
// service "svc", registered now, with the beat interval, beat timeout and
// delete timeout given.
func storeWithOne(t *testing.T, clock func() time.Time, interval, timeout, del time.Duration) *store.Store {
	t.Helper()
	s, err := store.New(store.Config{Node: "taker", Now: clock, TombstoneTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	svc := store.Key{Namespace: store.DefaultNamespace, Group: store.DefaultGroup, Service: "svc"}
	in := store.Instance{InstanceKey: store.InstanceKey{Cluster: store.DefaultCluster, IP: "10.0.0.1", Port: 80},
		Weight: 1, Healthy: true, Enabled: true, Ephemeral: true,
		BeatInterval: interval, BeatTimeout: timeout, DeleteTimeout: del}
	if _, err := s.Register(svc, in); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestTakeOver_unchangedReportHoldsUntilRefresh: an owner re-sends an
// unchanged last-heard report only every refresh, so the copy a member
// holds may have arrived up to a refresh before the owner's crash. The
// instance it did not list was heard within 1.5 beat intervals
// (store.QuietAfter) of the owner's last state, not only of the copy's
// arrival, and must not be removed before its delete timeout from that
// bound; nor later than the copy's promise (arrival + refresh) or its
// sender's departure from the cluster allows.
func TestTakeOver_unchangedReportHoldsUntilRefresh(t *testing.T) {
	const quietAfter, deleteTimeout = 7500 * time.Millisecond, 30 * time.Second
	const refresh = 3333 * time.Millisecond
	cases := []struct {
		name string
		c    takeoverCase
		// the owner's state last known at:
		heldAt time.Duration
	}{
		{"owner crashed just before its refresh", takeoverCase{holds: refresh, lastBeat: 3200 * time.Millisecond,
			ownerGone: 3300 * time.Millisecond, takeover: 5300 * time.Millisecond}, refresh},
		{"takeover within the refresh (owner left)", takeoverCase{holds: refresh, lastBeat: 1900 * time.Millisecond,
			ownerGone: 2 * time.Second, takeover: 2 * time.Second}, 2 * time.Second},
		{"owner dropped the partition before its refresh", takeoverCase{holds: refresh, lastBeat: 900 * time.Millisecond,
			ownerGone: time.Second, dropAt: time.Second, takeover: 6 * time.Second}, time.Second},
		{"long refresh: held until the owner left the cluster (its crash found 2s later)", takeoverCase{holds: 30 * time.Second,
			lastBeat: 3200 * time.Millisecond, ownerGone: 3300 * time.Millisecond, departs: 5300 * time.Millisecond,
			takeover: 5300 * time.Millisecond}, 5300 * time.Millisecond},
		{"long refresh: the partition passed through another owner that died too", takeoverCase{holds: 30 * time.Second,
			lastBeat: 1900 * time.Millisecond, ownerGone: 2 * time.Second, departs: 2 * time.Second,
			takeover: 6 * time.Second}, 2 * time.Second},
		{"a report promising no refresh holds as of its arrival", takeoverCase{lastBeat: -100 * time.Millisecond,
			takeover: 4 * time.Second}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := removedAfterTakeover(t, tc.c)
			// The instance was unlisted in the owner's last state, so its last
			// beat was within quietAfter of it (it beat at lastBeat).
			earliest := tc.c.ownerGone - quietAfter + deleteTimeout
			if tc.c.ownerGone == 0 {
				earliest = tc.c.lastBeat - quietAfter + deleteTimeout
			}
			latest := tc.heldAt - quietAfter + deleteTimeout + 100*time.Millisecond
			if got < 0 || got < earliest || got > latest {
				t.Fatalf("removed %v after the report (-1: never), want between %v (delete timeout from the owner's last state) and %v",
					got, earliest, latest)
			}
		})
	}
}

// TestHeardHints_departed: a sender that leaves caps its reports at its
// departure; one that comes back is no longer taken as gone; a departure
// older than the TTL is forgotten with the sender's partition list.
func TestHeardHints_departed(t *testing.T) {
	var h heardHints
	t0 := time.Unix(1_700_000_000, 0)
	h.record("b", 1, []peer.Heard{{Partition: 3, Holds: time.Minute}}, t0)
	live := map[string]Member{"b": {}}
	until := func(at time.Time) time.Time { return h.hintsAt(at, 2*time.Minute)(3).Until }
	h.departed(live, t0.Add(time.Second), time.Minute)
	if got := until(t0.Add(5 * time.Second)); !got.Equal(t0.Add(5 * time.Second)) {
		t.Fatalf("live sender: report held until %v, want the takeover (5s)", got.Sub(t0))
	}
	h.departed(map[string]Member{}, t0.Add(2*time.Second), time.Minute)
	h.departed(map[string]Member{}, t0.Add(3*time.Second), time.Minute) // still gone: the first departure counts
	if got := until(t0.Add(5 * time.Second)); !got.Equal(t0.Add(2 * time.Second)) {
		t.Fatalf("departed sender: report held until %v, want its departure (2s)", got.Sub(t0))
	}
	h.departed(live, t0.Add(4*time.Second), time.Minute)
	if got := until(t0.Add(5 * time.Second)); !got.Equal(t0.Add(5 * time.Second)) {
		t.Fatalf("sender back: report held until %v, want the takeover (5s)", got.Sub(t0))
	}
	h.departed(map[string]Member{}, t0.Add(6*time.Second), time.Minute)
	h.departed(map[string]Member{}, t0.Add(67*time.Second), time.Minute)
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.gone) != 0 || len(h.owned) != 0 {
		t.Fatalf("a departure older than the TTL kept: gone %v, owned %v", h.gone, h.owned)
	}
}

// TestHeardHints_renewal: a renewal of the report held confirms it (the
// TTL and the refresh count from the renewal; the quiet ages still from
// the report's arrival); a renewal of another report is refused.
func TestHeardHints_renewal(t *testing.T) {
	var h heardHints
	t0 := time.Unix(1_700_000_000, 0)
	quiet := []store.Quiet{{ID: 9, Age: 4 * time.Second}}
	h.record("b", 7, []peer.Heard{{Partition: 3, Holds: 30 * time.Second, Quiet: quiet}}, t0)
	if h.renew("b", 8, 30*time.Second, t0.Add(25*time.Second)) || h.renew("c", 7, 30*time.Second, t0.Add(25*time.Second)) {
		t.Fatal("a renewal of a report not held was accepted")
	}
	if !h.renew("b", 7, 30*time.Second, t0.Add(25*time.Second)) {
		t.Fatal("a renewal of the report held was refused")
	}
	hint := h.hintsAt(t0.Add(70*time.Second), time.Minute)(3)
	if hint == nil {
		t.Fatal("a report renewed 45s before the takeover dropped by a 60s TTL")
	}
	if !hint.At.Equal(t0) || !hint.Until.Equal(t0.Add(55*time.Second)) || len(hint.Quiet) != 1 {
		t.Fatalf("hint %+v: want its ages from the report (0s) and held until the renewal's refresh (55s)", hint)
	}
	if h.hintsAt(t0.Add(86*time.Second), time.Minute)(3) != nil {
		t.Fatal("a report last confirmed 61s before the takeover used with a 60s TTL")
	}
}

// TestHeardRefresh: 30 s, or a second per member above 30 members, so an
// idle node renews about one copy a second at most; the TTL is twice it.
func TestHeardRefresh(t *testing.T) {
	cfg := peer.DefaultConfig()
	cfg.Self = "self"
	tr, err := peer.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	n := &Node{cfg: Config{HeardInterval: time.Second}, peers: tr}
	for _, c := range []struct {
		members int
		want    time.Duration
	}{{0, 30 * time.Second}, {10, 30 * time.Second}, {99, 99 * time.Second}, {700, 10 * time.Minute}} {
		ms := make([]peer.Member, c.members)
		for i := range ms {
			ms[i] = peer.Member{Name: fmt.Sprintf("m%d", i), HTTPAddr: fmt.Sprintf("127.0.0.1:%d", 10000+i), Epoch: 1}
		}
		tr.SetMembers(ms)
		if got := n.heardRefresh(); got != c.want || n.heardHintTTL() != 2*c.want {
			t.Errorf("%d members: refresh %v, TTL %v; want %v and twice it", c.members, got, n.heardHintTTL(), c.want)
		}
	}
}

// TestHeardHints_onlyFromTheOwnerBefore: owners send a change of owned
// partitions alone at once only to their heirs, so a member may still
// hold an older owner's report of a partition whose owner since gained
// it; at a takeover from that owner the older report is not used (a
// fresh timeout), the owner's own is.
func TestHeardHints_onlyFromTheOwnerBefore(t *testing.T) {
	var h heardHints
	t0 := time.Unix(1_700_000_000, 0)
	h.record("old", 1, []peer.Heard{{Partition: 3, Holds: time.Minute}, {Partition: 4, Holds: time.Minute}}, t0)
	h.record("owner", 1, []peer.Heard{{Partition: 4, Holds: time.Minute}}, t0)
	prev := func(int) string { return "owner" }
	var miss hintMisses
	hint := h.hintsFrom(prev, t0.Add(time.Second), 2*time.Minute, &miss)
	if got := hint(3); got != nil {
		t.Fatalf("partition 3, last reported by another member than its owner before the takeover: hint %+v, want none", got)
	}
	if got := hint(4); got == nil || !got.Until.Equal(t0.Add(time.Second)) {
		t.Fatalf("partition 4, reported by its owner: hint %+v, want one held until the takeover", got)
	}
	_ = hint(5) // never reported
	_ = h.hintsFrom(prev, t0.Add(3*time.Minute), 2*time.Minute, &miss)(4)
	if want := (hintMisses{none: 1, other: 1, stale: 1}); miss != want {
		t.Errorf("misses %+v, want %+v (partition 5 unreported, 3 from another member, 4 too old later)", miss, want)
	}
	if got := h.hintsAt(t0.Add(time.Second), 2*time.Minute)(3); got == nil {
		t.Fatal("without the owners before, the last report of partition 3 was not used")
	}
}

// TestHeirCache_removed: the count grows when a report no longer lists a
// quiet instance the one before did (it resumed, or its partition was
// lost), not when instances go quiet or partitions come and go without
// any.
func TestHeirCache_removed(t *testing.T) {
	var h heirCache
	q := func(ids ...uint64) []store.Quiet {
		var out []store.Quiet
		for _, id := range ids {
			out = append(out, store.Quiet{ID: id, Age: time.Second})
		}
		return out
	}
	steps := []struct {
		name  string
		parts []peer.Heard
		want  uint64
	}{
		{"first", []peer.Heard{{Partition: 1, Quiet: q(7)}}, 0},
		{"one more quiet, a partition gained", []peer.Heard{{Partition: 1, Quiet: q(7, 8)}, {Partition: 2}}, 0},
		{"a partition without quiet lost", []peer.Heard{{Partition: 1, Quiet: q(7, 8)}, {Partition: 3, Quiet: q(9)}}, 0},
		{"an instance resumed", []peer.Heard{{Partition: 1, Quiet: q(8)}, {Partition: 3, Quiet: q(9)}}, 1},
		{"a partition with quiet lost", []peer.Heard{{Partition: 1, Quiet: q(8)}}, 2},
		{"unchanged", []peer.Heard{{Partition: 1, Quiet: q(8)}}, 2},
	}
	for _, s := range steps {
		if got := h.removed(s.parts); got != s.want {
			t.Fatalf("%s: removals %d, want %d", s.name, got, s.want)
		}
	}
}
