package store

import (
	"encoding/binary"
	"slices"
	"strconv"
	"testing"
	"time"
)

// checkSubsAddUp fails unless every partition's sub-digests XOR to its
// digest.
func checkSubsAddUp(t *testing.T, s *Store, when string) {
	t.Helper()
	digests := s.Digests()
	parts := make([]int, len(digests))
	for p := range parts {
		parts[p] = p
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for p, d := range digests {
		var x uint64
		for _, b := range s.subsLocked(p) {
			x ^= b
		}
		if x != d {
			t.Fatalf("%s: partition %d: sub-digests XOR to %x, digest %x", when, p, x, d)
		}
	}
}

// fillSubsStores writes the same 2,000 instances, some deregistered, and
// a service record into a and b.
func fillSubsStores(t *testing.T, a, b *Store) {
	t.Helper()
	for i := range 2000 {
		k := Key{Namespace: "public", Group: "g", Service: "s" + strconv.Itoa(i%40)}
		in := mustRegister(t, a, k, inst(benchIP(i), 80))
		b.Merge(k, in)
		if i%7 == 0 {
			tomb, err := a.Deregister(k, in.InstanceKey)
			if err != nil {
				t.Fatal(err)
			}
			b.Merge(k, tomb)
		}
	}
	k := Key{Namespace: "public", Group: "g", Service: "s1"}
	info, err := a.CreateService(k, ServiceInfo{ProtectThreshold: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	b.MergeService(k, info)
}

// TestSubDigests_locateTheDifference checks that the sub-digests of every
// partition add up to its digest through writes, merges and reaping, and
// that comparing them names exactly the bucket of a record one replica
// missed, whose summaries then hold just that bucket's records.
func TestSubDigests_locateTheDifference(t *testing.T) {
	clk := newFakeClock()
	a, b := partitionedStore(t, "a", clk), partitionedStore(t, "b", clk)
	fillSubsStores(t, a, b)
	checkSubsAddUp(t, a, "after writes")
	checkSubsAddUp(t, b, "after merges")
	all := make([]int, 16)
	for p := range all {
		all[p] = p
	}
	masks, ok := a.DiffSubs(all, b.SubDigests(all))
	if !ok || slices.ContainsFunc(masks, func(m uint64) bool { return m != 0 }) {
		t.Fatalf("equal replicas: masks %x, %v; want all 0", masks, ok)
	}

	k := Key{Namespace: "public", Group: "g", Service: "s3"}
	missed := mustRegister(t, a, k, inst("10.9.9.9", 1)) // b misses it
	p, id := a.partitionOf(k), instanceID(k, missed.InstanceKey)
	masks, ok = a.DiffSubs([]int{p}, b.SubDigests([]int{p}))
	if want := uint64(1) << subBucket(id); !ok || masks[0] != want {
		t.Fatalf("one missed record: mask %x, %v; want only its bucket %x", masks, ok, want)
	}
	sa, sb := a.SummariesIn([]int{p}, masks)[0], b.SummariesIn([]int{p}, masks)[0]
	if len(sa) != len(sb)+1 || !slices.ContainsFunc(sa, func(e SummaryEntry) bool { return e.ID == id }) {
		t.Fatalf("summaries of the bucket: %d and %d entries; want the missed record on a's side only", len(sa), len(sb))
	}
	full := a.Summaries([]int{p})[0]
	if len(sa) >= len(full)/8 {
		t.Fatalf("the bucket's summary has %d of the partition's %d entries; want far fewer", len(sa), len(full))
	}
	for _, e := range sa {
		if subBucket(e.ID) != subBucket(id) {
			t.Fatalf("entry %x of bucket %d in the summary of bucket %d", e.ID, subBucket(e.ID), subBucket(id))
		}
	}

	clk.Advance(time.Minute + time.Millisecond)
	a.Reap()
	checkSubsAddUp(t, a, "after reaping")
}

// TestDiffSubs_badInput checks that sub-digests of the wrong size or
// count are refused, and that a partition sent without them (too few
// records to be worth it) is compared whole.
func TestDiffSubs_badInput(t *testing.T) {
	clk := newFakeClock()
	a, b := partitionedStore(t, "a", clk), partitionedStore(t, "b", clk)
	mustRegister(t, a, svcA, inst("10.0.0.1", 80))
	p := a.partitionOf(svcA)
	if subs := a.SubDigests([]int{p}); subs[0] != nil {
		t.Fatalf("a partition of one record sent %d bytes of sub-digests; want none", len(subs[0]))
	}
	if masks, ok := b.DiffSubs([]int{p}, [][]byte{nil}); !ok || masks[0] != AllBuckets {
		t.Fatalf("no sub-digests: mask %x, %v; want every bucket", masks, ok)
	}
	for _, bad := range [][][]byte{{make([]byte, SubBytes-1)}, {make([]byte, SubBytes+8)}, {nil, nil}} {
		if _, ok := b.DiffSubs([]int{p}, bad); ok {
			t.Fatalf("sub-digests of %d entries, first %d bytes: accepted", len(bad), len(bad[0]))
		}
	}
	sub := make([]byte, SubBytes)
	binary.LittleEndian.PutUint64(sub[8:], 1)
	if masks, ok := b.DiffSubs([]int{p}, [][]byte{sub}); !ok || masks[0] != 2 {
		t.Fatalf("one differing bucket against an empty partition: mask %x, %v; want 2", masks, ok)
	}
}
