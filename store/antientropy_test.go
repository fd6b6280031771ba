package store

import (
	"hash/fnv"
	"slices"
	"testing"
	"time"
)

// partitionedStore returns a store whose services fall into 16 partitions.
func partitionedStore(tb testing.TB, node string, clk *fakeClock) *Store {
	tb.Helper()
	s, err := New(Config{Node: node, Now: clk.Now, TombstoneTTL: time.Minute, Partitions: 16,
		Partition: func(k Key) int {
			h := fnv.New32a()
			h.Write([]byte(k.String()))
			return int(h.Sum32() % 16)
		}})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return s
}

// TestDigests_orderIndependentAndRepairable checks equal record sets give
// equal digests whatever the order, a missed record shows as a mismatch in
// exactly its partition, and pulling that partition repairs it.
func TestDigests_orderIndependentAndRepairable(t *testing.T) {
	seed := testSeed(t)
	rng := newRand(seed)
	recs := randomRecords(rng, 300)
	clk := newFakeClock()
	a, b := partitionedStore(t, "a", clk), partitionedStore(t, "b", clk)
	for _, r := range recs {
		mergeRecord(a, r)
	}
	shuffled := slices.Clone(recs)
	rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for _, r := range append(shuffled, shuffled[:50]...) {
		mergeRecord(b, r)
	}
	if da, db := a.Digests(), b.Digests(); !slices.Equal(da, db) {
		t.Fatalf("digests differ after the same records: got %x, want %x", db, da)
	}

	// c misses one newer write; only its partition differs.
	c := partitionedStore(t, "c", clk)
	for _, r := range recs {
		mergeRecord(c, r)
	}
	k := Key{Namespace: "public", Group: "DEFAULT_GROUP", Service: "fresh"}
	mustRegister(t, a, k, inst("10.9.9.9", 1))
	var diff []int
	da, dc := a.Digests(), c.Digests()
	for p := range da {
		if da[p] != dc[p] {
			diff = append(diff, p)
		}
	}
	if want := []int{a.partitionOf(k)}; !slices.Equal(diff, want) {
		t.Fatalf("mismatched partitions: got %v, want %v", diff, want)
	}
	for _, r := range a.PartitionRecords(diff) {
		mergeRecord(c, r)
	}
	if da, dc := a.Digests(), c.Digests(); !slices.Equal(da, dc) {
		t.Fatalf("digests still differ after pulling %v", diff)
	}
	if d := diffRecords(normalize(c.Records()), normalize(a.Records())); d != "" {
		t.Fatalf("records differ after repair: %s", d)
	}
}

// TestDigests_reapKeepsDigestsInStep checks reaping updates the digest and
// a reaped tombstone arriving again from a peer is ignored.
func TestDigests_reapKeepsDigestsInStep(t *testing.T) {
	clk := newFakeClock()
	a, b := partitionedStore(t, "a", clk), partitionedStore(t, "b", clk)
	k := Key{Namespace: "public", Group: "g", Service: "s"}
	mustRegister(t, a, k, inst("10.0.0.1", 1))
	tomb, err := a.Deregister(k, ik("10.0.0.1", 1))
	if err != nil {
		t.Fatal(err)
	}
	if !b.Merge(k, tomb) {
		t.Fatal("fresh tombstone not merged")
	}
	empty := make([]uint64, 16)
	if slices.Equal(a.Digests(), empty) {
		t.Fatal("digest ignores the tombstone")
	}
	clk.Advance(time.Minute + time.Millisecond)
	a.Reap()
	if got := a.Digests(); !slices.Equal(got, empty) {
		t.Fatalf("digests after reap: got %x, want all zero", got)
	}
	if a.Merge(k, tomb) {
		t.Fatal("a tombstone older than the TTL was merged back after reaping")
	}
	if got := a.Records(); len(got) != 0 {
		t.Fatalf("records after reap: got %v, want none", got)
	}
}

// TestMergeGuarded_reassertsBeatingInstance checks an owner refuses an
// expiry decision from a peer about an instance it has heard beat, and
// re-asserts it with a newer version; explicit deletions still apply.
func TestMergeGuarded_reassertsBeatingInstance(t *testing.T) {
	clk := newFakeClock()
	owner, other := newTestStore(t, "owner", clk), newTestStore(t, "other", clk)
	k := Key{Namespace: "public", Group: "g", Service: "s"}
	reg := mustRegister(t, owner, k, Instance{InstanceKey: ik("10.0.0.1", 1), Ephemeral: true, Healthy: true, BeatTimeout: time.Second, DeleteTimeout: 2 * time.Second})
	other.Merge(k, reg)
	// The other side of a partition expires it while the owner hears beats.
	clk.Advance(2 * time.Second)
	if _, err := owner.Beat(k, reg.InstanceKey); err != nil {
		t.Fatal(err)
	}
	var expiry []Transition
	expiry = append(expiry, other.Sweep(nil)...)
	if len(expiry) == 0 || !expiry[len(expiry)-1].Instance.Expired {
		t.Fatalf("other side did not expire the instance: %+v", expiry)
	}
	// The newest decision (the tombstone) is refused and re-asserted; the
	// older one (unhealthy) is then simply stale.
	last := expiry[len(expiry)-1].Instance
	applied, re := owner.MergeGuarded(k, last, true)
	if applied || re == nil {
		t.Fatalf("owner accepted expiry %+v (applied %v, reassert %v)", last, applied, re)
	}
	if !last.Version.Less(re.Version) || !re.Healthy || re.Deleted {
		t.Fatalf("re-assertion %+v not newer and live than %+v", re, last)
	}
	for _, tr := range expiry[:len(expiry)-1] {
		if applied, again := owner.MergeGuarded(k, tr.Instance, true); applied || again != nil {
			t.Fatalf("stale expiry %+v: got applied %v, reassert %v", tr.Instance, applied, again)
		}
	}
	if !other.Merge(k, *re) {
		t.Fatal("re-assertion not merged by the other side")
	}
	if got, ok := other.Snapshot(k).Find(reg.InstanceKey); !ok || !got.Healthy {
		t.Fatalf("other side after re-assertion: got %+v, %v", got, ok)
	}
	// Without the guard, or for a deregistration, the record applies.
	tomb, err := other.Deregister(k, reg.InstanceKey)
	if err != nil {
		t.Fatal(err)
	}
	if applied, re := owner.MergeGuarded(k, tomb, true); !applied || re != nil {
		t.Fatalf("deregistration: got applied %v, reassert %v, want applied", applied, re)
	}
}
