package store

import (
	"maps"
	"reflect"
	"testing"
	"time"
)

// metaKey is the key appendMetaKey encodes, as a string.
func metaKey(m map[string]string) string { return string(appendMetaKey(nil, m)) }

func TestMetaKey_distinct(t *testing.T) {
	cases := []map[string]string{
		{}, {"a": ""}, {"": "a"}, {"a": "b"}, {"ab": ""}, {"a": "b", "c": "d"}, {"a": "bc", "": "d"}, {"a\x01b": "c"},
	}
	seen := map[string]int{}
	for i, m := range cases {
		k := metaKey(m)
		if j, dup := seen[k]; dup {
			t.Errorf("maps %v and %v share key %q", cases[j], m, k)
		}
		seen[k] = i
		if metaKey(maps.Clone(m)) != k {
			t.Errorf("key of %v not stable", m)
		}
	}
	// More keys than are sorted on the stack.
	big := map[string]string{}
	for _, c := range "abcdefghijkl" {
		big[string(c)] = string(c) + "!"
	}
	other := maps.Clone(big)
	other["l"] = "l?"
	if k := metaKey(big); k == metaKey(other) || k != metaKey(maps.Clone(big)) {
		t.Errorf("12-key maps: keys not distinct or not stable")
	}
	small := map[string]string{"zone": "a", "version": "1.2.3", "preserved.heart.beat.interval": "5000"}
	var tab metaTable
	held := tab.intern(small)
	if held.m == nil || reflect.ValueOf(held.m).UnsafePointer() == reflect.ValueOf(small).UnsafePointer() {
		t.Fatalf("interned map is the caller's own, want a copy")
	}
	same := maps.Clone(small)
	if allocs := testing.AllocsPerRun(100, func() { tab.release(tab.intern(same)) }); allocs != 0 {
		t.Errorf("%.0f allocations per intern of a map already held, want 0", allocs)
	}
}

// Instances with equal metadata share one map; changing one instance's
// metadata leaves the others' alone; the last reference frees the copy.
func TestStore_metadataShared(t *testing.T) {
	clk := newFakeClock()
	s := newTestStore(t, "n1", clk)
	md := func() map[string]string { return map[string]string{"zone": "a", "v": "1"} }
	for _, ip := range []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"} {
		in := inst(ip, 80)
		in.Metadata = md()
		mustRegister(t, s, svcA, in)
	}
	snap := s.Snapshot(svcA)
	if len(snap.Instances) != 3 {
		t.Fatalf("%d instances, want 3", len(snap.Instances))
	}
	if reflect.ValueOf(snap.Instances[0].Metadata).UnsafePointer() != reflect.ValueOf(snap.Instances[2].Metadata).UnsafePointer() {
		t.Errorf("equal metadata not shared")
	}
	if s.metas.len() != 1 {
		t.Errorf("%d distinct maps held, want 1", s.metas.len())
	}
	changed := inst("10.0.0.2", 80)
	changed.Metadata = map[string]string{"zone": "b", "v": "1"}
	mustRegister(t, s, svcA, changed)
	snap = s.Snapshot(svcA)
	for _, in := range snap.Instances {
		want := md()
		if in.IP == "10.0.0.2" {
			want = changed.Metadata
		}
		if !maps.Equal(in.Metadata, want) {
			t.Errorf("%s metadata %v, want %v", in.IP, in.Metadata, want)
		}
	}
	if s.metas.len() != 2 {
		t.Errorf("%d distinct maps held, want 2", s.metas.len())
	}
	for _, ip := range []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"} {
		if _, err := s.Deregister(svcA, ik(ip, 80)); err != nil {
			t.Fatal(err)
		}
	}
	if s.metas.len() != 0 {
		t.Errorf("%d distinct maps held after every instance was deleted, want 0", s.metas.len())
	}
	clk.Advance(time.Hour)
	s.Reap()
	if s.metas.len() != 0 {
		t.Errorf("%d distinct maps held after reaping, want 0", s.metas.len())
	}
}

// The store never keeps a caller's metadata map: changing it after a
// registration or a merge changes nothing stored, whether the map was
// new to the store or equal to one it held.
func TestStore_metadataNotTheCallers(t *testing.T) {
	clk := newFakeClock()
	s := newTestStore(t, "n1", clk)
	a, b := inst("10.0.0.1", 80), inst("10.0.0.2", 80)
	a.Metadata = map[string]string{"zone": "a"}
	b.Metadata = map[string]string{"zone": "a"}
	mustRegister(t, s, svcA, a)
	rec := b
	rec.Version = Version{Clock: clk.Now().UnixNano() + 1, Node: "n2"}
	if !s.Merge(svcA, rec) {
		t.Fatal("merge not applied")
	}
	a.Metadata["zone"], b.Metadata["zone"] = "changed", "changed"
	for _, in := range s.Snapshot(svcA).Instances {
		if in.Metadata["zone"] != "a" {
			t.Errorf("%s: metadata %v, want the registered zone=a", in.IP, in.Metadata)
		}
	}
}
