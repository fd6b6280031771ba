package ring

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/buraksezer/consistent"
)

// libraryPlace is the placement of github.com/buraksezer/consistent
// v1.0.0 itself, which place must reproduce.
func libraryPlace(cfg Config, members []Member) []string {
	cm := make([]consistent.Member, len(members))
	for i, m := range members {
		cm[i] = m
	}
	c := consistent.New(cm, consistent.Config{Hasher: hasher(cfg.Hasher), PartitionCount: cfg.PartitionCount,
		ReplicationFactor: cfg.ReplicationFactor, Load: cfg.Load})
	out := make([]string, cfg.PartitionCount)
	for p := range out {
		out[p] = c.GetPartitionOwner(p).String()
	}
	return out
}

// TestPlace_matchesLibrary: for clusters of 1 to 120 members with names of
// every shape, the default configuration and others (fewer partitions,
// tight load, few replicas, a hasher with many collisions), every
// partition has the owner the consistent library gives it: nodes running
// either must agree.
func TestPlace_matchesLibrary(t *testing.T) {
	seed := rand.Uint64()
	rng := rand.New(rand.NewPCG(seed, 1))
	collide := func(b []byte) uint64 { // 256 distinct hashes: many collisions
		var h uint64
		for _, c := range b {
			h = h*31 + uint64(c)
		}
		return h % 256
	}
	cfgs := []Config{DefaultConfig(), {PartitionCount: 271, ReplicationFactor: 20, Load: 1.25},
		{PartitionCount: 97, ReplicationFactor: 3, Load: 1}, {PartitionCount: 61, ReplicationFactor: 8, Load: 1.5, Hasher: collide}}
	sizes := []int{1, 2, 3, 5, 10, 30, 60, 100, 120}
	for ci, cfg := range cfgs {
		for _, n := range sizes {
			if ci > 0 && n > 60 {
				continue
			}
			members := make([]Member, n)
			for i := range members {
				members[i] = Member{Name: fmt.Sprintf("%s-%d", []string{"node", "roster-agent", "n", "10.0.0.1:8848"}[rng.IntN(4)], rng.IntN(1000)*1000+i)}
			}
			slices.SortFunc(members, func(a, b Member) int { return cmpName(a, b) })
			r := newRing(t, cfg)
			if err := r.Set(members); err != nil {
				t.Fatalf("seed %d, config %d, %d members: %v", seed, ci, n, err)
			}
			want := libraryPlace(r.cfg, members)
			if got := ownerNames(r); !slices.Equal(got, want) {
				diff := 0
				for p := range got {
					if got[p] != want[p] {
						diff++
					}
				}
				t.Fatalf("seed %d, config %d, %d members: %d of %d partitions placed unlike the library", seed, ci, n, diff, len(got))
			}
		}
	}
}

func cmpName(a, b Member) int {
	switch {
	case a.Name < b.Name:
		return -1
	case a.Name > b.Name:
		return 1
	}
	return 0
}

// TestHeirs: a member's heirs are exactly the owners its partitions get
// when it leaves, and a View keeps the placement it was taken on.
func TestHeirs(t *testing.T) {
	var ms []Member
	for i := range 20 {
		ms = append(ms, Member{Name: fmt.Sprintf("node-%02d", i)})
	}
	r, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Set(ms); err != nil {
		t.Fatal(err)
	}
	before := r.View()
	heirs, err := r.Heirs("node-07")
	if err != nil {
		t.Fatal(err)
	}
	owned := r.Owned("node-07")
	if err := r.Set(slices.Delete(slices.Clone(ms), 7, 8)); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, p := range owned {
		if o, _ := before.PartitionOwner(p); o.Name != "node-07" {
			t.Fatalf("the view before the leave says partition %d was %s's, want node-07's", p, o.Name)
		}
		o, _ := r.PartitionOwner(p)
		want[o.Name] = true
	}
	if len(heirs) != len(want) || len(heirs) < 2 {
		t.Fatalf("heirs %v, want the %d owners of node-07's partitions after it left: %v", heirs, len(want), want)
	}
	for _, h := range heirs {
		if !want[h] {
			t.Fatalf("heir %s does not take any of node-07's partitions", h)
		}
	}
	if h, err := r.Heirs("node-07"); h != nil || err != nil {
		t.Fatalf("a member not in the ring has heirs %v (%v)", h, err)
	}
	if _, ok := (View{}).PartitionOwner(0); ok {
		t.Fatal("an empty view has an owner")
	}
}

// TestOwnedWith: the partitions a member would own if added are exactly
// those it owns once it is, and a member's own are its Owned.
func TestOwnedWith(t *testing.T) {
	var ms []Member
	for i := range 10 {
		ms = append(ms, Member{Name: fmt.Sprintf("node-%02d", i)})
	}
	r, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Set(ms[:9]); err != nil {
		t.Fatal(err)
	}
	would, err := r.OwnedWith(ms[9])
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Set(ms); err != nil {
		t.Fatal(err)
	}
	if got := r.Owned(ms[9].Name); len(would) == 0 || !slices.Equal(would, got) {
		t.Fatalf("OwnedWith said %d partitions, the ring with it gives %d (equal: %v)", len(would), len(got), slices.Equal(would, got))
	}
	if own, err := r.OwnedWith(ms[3]); err != nil || !slices.Equal(own, r.Owned(ms[3].Name)) {
		t.Fatalf("OwnedWith of a member: %d partitions (%v), want its Owned", len(own), err)
	}
}
