package store

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

// recordID names the slot a record competes for.
type recordID struct {
	key     Key
	service bool
	ik      InstanceKey
}

func idOf(r Record) recordID {
	if r.Service != nil {
		return recordID{key: r.Key, service: true}
	}
	return recordID{key: r.Key, ik: r.Instance.InstanceKey}
}

func versionOf(r Record) Version {
	if r.Service != nil {
		return r.Service.Version
	}
	return r.Instance.Version
}

// mergeRecord applies r to s through the replication entry points.
func mergeRecord(s *Store, r Record) bool {
	if r.Service != nil {
		return s.MergeService(r.Key, *r.Service)
	}
	return s.Merge(r.Key, *r.Instance)
}

// randomRecords returns records over a few services and instance keys with
// versions drawn from a small space, so clock ties between nodes are
// common. Every (slot, version) pair appears once: a version names one
// write.
func randomRecords(rng *rand.Rand, n int) []Record {
	keys := []Key{svcA, svcB, svcC}
	nodes := []string{"a", "b", "c"}
	seen := map[string]bool{}
	var out []Record
	for len(out) < n {
		k := keys[rng.IntN(len(keys))]
		v := Version{Clock: ev(1 + rng.Int64N(8)), Node: nodes[rng.IntN(len(nodes))]}
		var md map[string]string
		if rng.IntN(2) == 0 {
			md = map[string]string{"m": strconv.Itoa(rng.IntN(100))}
		}
		var r Record
		if rng.IntN(5) == 0 {
			r = Record{Key: k, Service: &ServiceInfo{
				ProtectThreshold: float64(rng.IntN(10)) / 10, Metadata: md, Version: v, Deleted: rng.IntN(4) == 0,
			}}
		} else {
			in := Instance{
				InstanceKey: InstanceKey{Cluster: []string{"DEFAULT", "c2"}[rng.IntN(2)], IP: "10.0.0." + strconv.Itoa(1+rng.IntN(2)), Port: 80},
				Weight:      float64(rng.IntN(10)), Healthy: rng.IntN(3) > 0, Enabled: rng.IntN(4) > 0, Ephemeral: rng.IntN(3) > 0,
				Metadata:     md,
				BeatInterval: time.Second, BeatTimeout: time.Duration(1+rng.IntN(5)) * time.Second, DeleteTimeout: 10 * time.Second,
				Version: v, Deleted: rng.IntN(4) == 0,
			}
			if in.Deleted {
				in.Metadata, in.Healthy = nil, false
			}
			r = Record{Key: k, Instance: &in}
		}
		sig := fmt.Sprint(idOf(r), v)
		if seen[sig] {
			continue
		}
		seen[sig] = true
		out = append(out, r)
	}
	return out
}

// maxRecords returns the newest record of every slot.
func maxRecords(recs []Record) []Record {
	best := map[recordID]Record{}
	for _, r := range recs {
		id := idOf(r)
		if b, ok := best[id]; !ok || versionOf(b).Less(versionOf(r)) {
			best[id] = r
		}
	}
	out := make([]Record, 0, len(best))
	for _, r := range best {
		out = append(out, r)
	}
	return normalize(out)
}

// TestMerge_lattice applies one random set of records to several stores in
// different orders with duplicates: all must end in the same state, the
// newest record of every slot, and Merge must report exactly the records
// that were newer than what the store held.
func TestMerge_lattice(t *testing.T) {
	rng := newRand(testSeed(t))
	for round := range 20 {
		t.Run(strconv.Itoa(round), func(t *testing.T) {
			recs := randomRecords(rng, 10+rng.IntN(80))
			want := maxRecords(recs)
			for si := range 5 {
				s := newTestStore(t, "s"+strconv.Itoa(si), newFakeClock())
				order := append([]Record(nil), recs...)
				for range rng.IntN(len(recs) + 1) {
					order = append(order, recs[rng.IntN(len(recs))])
				}
				rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
				held := map[recordID]Version{}
				for _, r := range order {
					id, v := idOf(r), versionOf(r)
					cur, ok := held[id]
					wantApplied := !ok || cur.Less(v)
					if got := mergeRecord(s, r); got != wantApplied {
						t.Fatalf("store %d: merge %s got applied=%v, want %v (held %v)", si, fmtRecord(r), got, wantApplied, cur)
					}
					if wantApplied {
						held[id] = v
					}
				}
				if d := diffRecords(s.Records(), want); d != "" {
					t.Fatalf("store %d: Records differ from the newest records: %s", si, d)
				}
				checkSnapshots(t, s)

				// Re-applying the final state changes nothing.
				idx := s.Index()
				for _, r := range s.Records() {
					if mergeRecord(s, r) {
						t.Fatalf("store %d: re-merge of held %s got applied, want not", si, fmtRecord(r))
					}
				}
				if s.Index() != idx {
					t.Errorf("store %d: index got %d after re-merge, want %d", si, s.Index(), idx)
				}
			}
		})
	}
}

// Merged records must not be aliased by the store: a caller changing its
// record after Merge does not change the store.
func TestMerge_copiesRecord(t *testing.T) {
	s := newTestStore(t, "n1", newFakeClock())
	in := inst("10.0.0.1", 80).withDefaults()
	in.Metadata = map[string]string{"k": "v"}
	in.Version = Version{Clock: 1, Node: "x"}
	s.Merge(svcA, in)
	info := ServiceInfo{Metadata: map[string]string{"k": "v"}, Version: Version{Clock: 1, Node: "x"}}
	s.MergeService(svcA, info)
	in.Metadata["k"], info.Metadata["k"] = "changed", "changed"
	snap := s.Snapshot(svcA)
	if got := snap.Instances[0].Metadata["k"]; got != "v" {
		t.Errorf("instance metadata got %q, want %q", got, "v")
	}
	if got := snap.Info.Metadata["k"]; got != "v" {
		t.Errorf("service metadata got %q, want %q", got, "v")
	}
}
