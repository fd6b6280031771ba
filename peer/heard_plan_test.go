package peer

import (
	"fmt"
	"testing"
	"time"

	"github.com/roster-io/roster/ring"
	"github.com/roster-io/roster/store"
)

// planKey is the key of a report of owned partitions and the quiet
// instances of partition 0 (owned too when quiet is not empty).
func planKey(owned []int, quiet ...uint64) uint64 {
	var parts []Heard
	for _, p := range owned {
		h := Heard{Partition: p}
		if p == 0 {
			for _, id := range quiet {
				h.Quiet = append(h.Quiet, store.Quiet{ID: id, Age: time.Second})
			}
		}
		parts = append(parts, h)
	}
	return encodeHeard(64, parts, time.Minute).key()
}

// TestReportHeardTo_heirsAtOnceOthersWithRenewal: a change goes at once
// to an heir (then at most once a Pace) and to any other member only in
// place of its next renewal, unless the report no longer lists a quiet
// instance an earlier one did (Removals grew): that goes to every member
// at once, as do the report to a new member and to a restarted one.
func TestReportHeardTo_heirsAtOnceOthersWithRenewal(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Self = "a"
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	t0 := time.Unix(1000, 0)
	heir, other := Member{Name: "heir", Epoch: 1}, Member{Name: "other", Epoch: 1}
	plan := HeardPlan{Refresh: 30 * time.Second, Pace: 2 * time.Second, Heirs: func(n string) bool { return n == "heir" }}
	names := map[heardSend]string{heardNone: "nothing", heardFull: "whole", heardRenew: "renewal"}
	steps := []struct {
		name            string
		at              time.Duration
		owned           []int
		quiet           []uint64
		removals        uint64
		epoch           int64 // of both members
		heir, otherWant heardSend
	}{
		{"first report: both at once", 0, []int{0, 1}, []uint64{7}, 0, 1, heardFull, heardFull},
		{"unchanged: nothing", time.Second, []int{0, 1}, []uint64{7}, 0, 1, heardNone, heardNone},
		{"a partition gained: the heir at once", 3 * time.Second, []int{0, 1, 2}, []uint64{7}, 0, 1, heardFull, heardNone},
		{"another within the pace: held back", 4 * time.Second, []int{0, 1, 2, 3}, []uint64{7}, 0, 1, heardNone, heardNone},
		{"after the pace: the heir again", 5 * time.Second, []int{0, 1, 2, 3}, []uint64{7}, 0, 1, heardFull, heardNone},
		{"another instance quiet, within the pace: held back", 5500 * time.Millisecond, []int{0, 1, 2, 3}, []uint64{7, 8}, 0, 1, heardNone, heardNone},
		{"the pace over: the heir", 7500 * time.Millisecond, []int{0, 1, 2, 3}, []uint64{7, 8}, 0, 1, heardFull, heardNone},
		{"a partition lost, refresh due for other: whole instead of renewal", 40 * time.Second, []int{0, 1, 2}, []uint64{7, 8}, 0, 1, heardFull, heardFull},
		{"unchanged at the refresh: renewals", 71 * time.Second, []int{0, 1, 2}, []uint64{7, 8}, 0, 1, heardRenew, heardRenew},
		{"an instance resumed: both at once", 72 * time.Second, []int{0, 1, 2}, []uint64{8}, 1, 1, heardFull, heardFull},
		{"restarted members: both at once", 73 * time.Second, []int{0, 1}, []uint64{8}, 1, 2, heardFull, heardFull},
	}
	for _, s := range steps {
		now := t0.Add(s.at)
		heir.Epoch, other.Epoch = s.epoch, s.epoch
		plan.Removals = s.removals
		key := planKey(s.owned, s.quiet...)
		for _, c := range []struct {
			m    Member
			want heardSend
		}{{heir, s.heir}, {other, s.otherWant}} {
			got := tr.heardDue(c.m, key, now, plan)
			if got != c.want {
				t.Errorf("%s: %s is due %s, want %s", s.name, c.m.Name, names[got], names[c.want])
			}
			if got != heardNone {
				tr.heardDelivered(c.m, heardMark{key: key, removals: s.removals, epoch: c.m.Epoch, at: now}, got == heardFull, true)
			}
		}
	}
}

// startRequests simulates the start of n nodes, one turning ready every
// gap, each reporting its owned partitions every second and 200 ms after
// each ring change to every member that is due it (heardDue), with every
// member an heir (heirs false: the plan before) or with ring heirs and
// paced at 2 s (the node's plan). It returns
// the whole reports and renewals sent until 5 s after the last turned
// ready.
func startRequests(t *testing.T, n int, heirs bool) int {
	t.Helper()
	rcfg := ring.Config{PartitionCount: 1021, ReplicationFactor: 16, Load: 1.2}
	nodes := make([]*Transport, n)
	members := make([]Member, n)
	for i := range n {
		members[i] = Member{Name: fmt.Sprintf("n%03d", i), Epoch: 1}
		cfg := DefaultConfig()
		cfg.Self = members[i].Name
		tr, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		nodes[i] = tr
	}
	r, err := ring.New(rcfg)
	if err != nil {
		t.Fatal(err)
	}
	const gap, tick, settle = 300 * time.Millisecond, time.Second, 200 * time.Millisecond
	t0, sent := time.Unix(1000, 0), 0
	ready, changed := 0, time.Duration(-1)
	report := func(i int, now time.Time) {
		var parts []Heard
		for _, p := range r.Owned(members[i].Name) {
			parts = append(parts, Heard{Partition: p})
		}
		req := encodeHeard(rcfg.PartitionCount, parts, 30*time.Second)
		plan := HeardPlan{Refresh: 30 * time.Second}
		if heirs {
			hs, err := r.Heirs(members[i].Name)
			if err != nil {
				t.Fatal(err)
			}
			set := map[string]bool{}
			for _, h := range hs {
				set[h] = true
			}
			plan.Heirs, plan.Pace = func(name string) bool { return set[name] }, 2*time.Second
		}
		for j, m := range members {
			if j == i {
				continue
			}
			if due := nodes[i].heardDue(m, req.key(), now, plan); due != heardNone {
				sent++
				nodes[i].heardDelivered(m, heardMark{key: req.key(), epoch: 1, at: now}, due == heardFull, true)
			}
		}
	}
	end := time.Duration(n)*gap + 5*time.Second
	for at := time.Duration(0); at <= end; at += 100 * time.Millisecond {
		now := t0.Add(at)
		if ready < n && at >= time.Duration(ready)*gap {
			ready++
			if err := r.Set(ringMembers(members[:ready])); err != nil {
				t.Fatal(err)
			}
			changed = at
		}
		kicked := changed >= 0 && at == changed+settle
		for i := range ready {
			if kicked || at%tick == 0 {
				report(i, now)
			}
		}
	}
	return sent
}

func ringMembers(ms []Member) []ring.Member {
	out := make([]ring.Member, len(ms))
	for i, m := range ms {
		out[i] = ring.Member{Name: m.Name, Epoch: m.Epoch}
	}
	return out
}

// TestReportHeard_startIsQuadratic: during a start of N nodes each node
// turning ready changes the reports of a share of the others. Sent at
// once to every member, the reports grow as N³ (doubling N multiplies
// them by about 8 once N is large); sent at once to heirs, paced, and to
// the others with their renewal, as N² (about 4).
func TestReportHeard_startIsQuadratic(t *testing.T) {
	sizes := []int{16, 32, 64}
	if testing.Short() || raceEnabled {
		sizes = []int{12, 24, 48}
	}
	var before, after []int
	for _, n := range sizes {
		before = append(before, startRequests(t, n, false))
		after = append(after, startRequests(t, n, true))
	}
	t.Logf("sizes %v: reports to every member %v, to heirs %v", sizes, before, after)
	last := len(sizes) - 1
	if growth := float64(after[last]) / float64(after[last-1]); growth > 5 {
		t.Errorf("reports grew %.1f× from %d to %d nodes, want at most 5× (N²)", growth, sizes[last-1], sizes[last])
	}
	if after[last]*3 > before[last] {
		t.Errorf("%d nodes: %d reports, want under a third of the %d sent to every member", sizes[last], after[last], before[last])
	}
}
