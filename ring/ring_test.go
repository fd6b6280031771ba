package ring

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/buraksezer/consistent"
)

func sequentialMembers(n int) []Member {
	ms := make([]Member, n)
	for i := range ms {
		ms[i] = Member{Name: fmt.Sprintf("node%d", i+1), Addr: fmt.Sprintf("10.0.0.%d:8848", i+1), Epoch: int64(i)}
	}
	return ms
}

func reversed(ms []Member) []Member {
	out := slices.Clone(ms)
	slices.Reverse(out)
	return out
}

func newRing(t testing.TB, cfg Config) *Ring {
	t.Helper()
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustSet(t testing.TB, r *Ring, ms []Member) {
	t.Helper()
	if err := r.Set(ms); err != nil {
		t.Fatalf("Set(%d members) = %v", len(ms), err)
	}
}

// ownerNames returns the owner's name of every partition.
func ownerNames(r *Ring) []string {
	out := make([]string, r.PartitionCount())
	for p := range out {
		m, _ := r.PartitionOwner(p)
		out[p] = m.Name
	}
	return out
}

func TestRing_empty(t *testing.T) {
	r := newRing(t, DefaultConfig())
	check := func(t *testing.T) {
		if m, ok := r.Owner("key"); ok {
			t.Errorf("Owner() = %v, true; want false", m)
		}
		if m, ok := r.PartitionOwner(0); ok {
			t.Errorf("PartitionOwner(0) = %v, true; want false", m)
		}
		if got := r.Len(); got != 0 {
			t.Errorf("Len() = %v, want 0", got)
		}
		if got := r.Members(); len(got) != 0 {
			t.Errorf("Members() = %v, want empty", got)
		}
		if got := r.Owned("node1"); got != nil {
			t.Errorf("Owned(node1) = %v, want nil", got)
		}
		if got, want := r.PartitionCount(), defaultPartitionCount; got != want {
			t.Errorf("PartitionCount() = %v, want %v", got, want)
		}
		if p := r.Partition("key"); p < 0 || p >= r.PartitionCount() {
			t.Errorf("Partition(key) = %v, want in [0, %v)", p, r.PartitionCount())
		}
	}
	t.Run("new", check)
	mustSet(t, r, sequentialMembers(3))
	mustSet(t, r, nil)
	t.Run("emptied", check)
}

// testHash makes placement computable by hand, like groupcache's
// consistenthash TestHashing. It relies on how consistent v1.0.0 builds its
// hash inputs: replica keys are "index:name" (names here are numbers, point =
// name + index), partitions are their id as 8 little-endian bytes (point =
// id × 10). Keys are decimal numbers that hash to themselves.
func testHash(b []byte) uint64 {
	s := string(b)
	if i := strings.IndexByte(s, ':'); i >= 0 {
		idx, err1 := strconv.Atoi(s[:i])
		name, err2 := strconv.Atoi(s[i+1:])
		if err1 != nil || err2 != nil {
			panic("testHash: bad replica key " + s)
		}
		return uint64(name + idx)
	}
	if n, err := strconv.ParseUint(s, 10, 64); err == nil {
		return n
	}
	if len(b) != 8 {
		panic(fmt.Sprintf("testHash: unexpected input %q", b))
	}
	return binary.LittleEndian.Uint64(b) * 10
}

func TestRing_hashing(t *testing.T) {
	// Ten partitions at points 0, 10, ..., 90; one point per member.
	members := func(names ...string) []Member {
		var ms []Member
		for _, n := range names {
			ms = append(ms, Member{Name: n})
		}
		return ms
	}
	tests := []struct {
		name    string
		load    float64
		members []Member
		owners  string            // owner of partitions 0..9
		keys    map[string]string // key -> owner
	}{
		{
			name:    "unbounded",
			load:    10, // caps of 34 never bind
			members: members("60", "20", "40"),
			owners:  "20 20 20 40 40 60 60 20 20 20",
			keys:    map[string]string{"13": "40", "7": "20", "25": "60", "99": "20"},
		},
		{
			name:    "unbounded, 80 added",
			load:    10,
			members: members("60", "20", "80", "40"),
			owners:  "20 20 20 40 40 60 60 80 80 20",
			keys:    map[string]string{"13": "40", "7": "80", "25": "60", "99": "20"},
		},
		{
			// Caps of ceil(10/3) = 4: partitions 8 and 9 find 20 full and
			// spill to the next point clockwise, 40.
			name:    "bounded",
			load:    1,
			members: members("40", "60", "20"),
			owners:  "20 20 20 40 40 60 60 20 40 40",
			keys:    map[string]string{"13": "40", "7": "20", "29": "40", "19": "40"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRing(t, Config{PartitionCount: 10, ReplicationFactor: 1, Load: tt.load, Hasher: testHash})
			mustSet(t, r, tt.members)
			if got := strings.Join(ownerNames(r), " "); got != tt.owners {
				t.Errorf("partition owners = %v, want %v", got, tt.owners)
			}
			for key, want := range tt.keys {
				if got, _ := r.Owner(key); got.Name != want {
					t.Errorf("Owner(%q) = %v, want %v", key, got.Name, want)
				}
			}
		})
	}
}

func TestRing_Set_rejectsInvalidMembers(t *testing.T) {
	tests := []struct {
		name    string
		members []Member
	}{
		{"empty name", []Member{{Name: "a"}, {Name: "", Addr: "h:1"}}},
		{"duplicate name", []Member{{Name: "a", Epoch: 1}, {Name: "b"}, {Name: "a", Epoch: 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRing(t, DefaultConfig())
			mustSet(t, r, sequentialMembers(2))
			before := ownerNames(r)
			err := r.Set(tt.members)
			if !errors.Is(err, ErrInvalidMember) {
				t.Fatalf("Set() = %v, want ErrInvalidMember", err)
			}
			if got, want := r.Version(), uint64(1); got != want {
				t.Errorf("Version() = %v, want %v", got, want)
			}
			if got := ownerNames(r); !slices.Equal(got, before) {
				t.Errorf("owners changed after a rejected Set")
			}
		})
	}
}

// TestRing_Set_placementPanicBecomesError covers the recover in place: a
// hasher that sends every replica point to one spot leaves one member to hold
// every partition, more than its cap, and the library panics.
func TestRing_Set_placementPanicBecomesError(t *testing.T) {
	tests := []struct {
		name   string
		hasher func([]byte) uint64
	}{
		{"colliding hasher", func([]byte) uint64 { return 42 }},
		{"panicking hasher", func(b []byte) uint64 {
			if strings.HasSuffix(string(b), ":b") { // a replica key of member b
				panic("hasher: boom")
			}
			return 42
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Hasher = tt.hasher
			r := newRing(t, cfg)
			one := []Member{{Name: "a"}}
			mustSet(t, r, one) // a single member fits whatever the hasher
			err := r.Set([]Member{{Name: "a"}, {Name: "b"}, {Name: "c"}})
			if !errors.Is(err, ErrPlacement) {
				t.Fatalf("Set() = %v, want ErrPlacement", err)
			}
			t.Logf("Set() = %v", err)
			if got := r.Members(); !slices.Equal(got, one) {
				t.Errorf("Members() = %v, want %v", got, one)
			}
			if got, want := r.Version(), uint64(1); got != want {
				t.Errorf("Version() = %v, want %v", got, want)
			}
		})
	}
}

func TestRing_Version(t *testing.T) {
	r := newRing(t, DefaultConfig())
	five := sequentialMembers(5)
	moved := slices.Clone(five)
	moved[2].Addr, moved[2].Epoch = "10.9.9.9:8848", 99
	steps := []struct {
		name        string
		members     []Member
		wantVersion uint64
	}{
		{"first set", five, 1},
		{"same members reversed", reversed(five), 1},
		{"one member restarted", moved, 2},
		{"one member more", sequentialMembers(6), 3},
		{"emptied", nil, 4},
		{"emptied again", []Member{}, 4},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			mustSet(t, r, s.members)
			if got := r.Version(); got != s.wantVersion {
				t.Errorf("Version() = %v, want %v", got, s.wantVersion)
			}
		})
	}
}

func TestRing_Set_addrChangeKeepsOwners(t *testing.T) {
	r := newRing(t, DefaultConfig())
	five := sequentialMembers(5)
	mustSet(t, r, five)
	before := ownerNames(r)
	moved := slices.Clone(five)
	moved[2].Addr, moved[2].Epoch = "10.9.9.9:8848", 99
	mustSet(t, r, moved)
	if got := ownerNames(r); !slices.Equal(got, before) {
		t.Errorf("owners changed when only an address changed")
	}
	for _, p := range r.Owned(moved[2].Name) {
		if got, _ := r.PartitionOwner(p); got != moved[2] {
			t.Fatalf("PartitionOwner(%d) = %v, want %v", p, got, moved[2])
		}
	}
}

func TestRing_Members(t *testing.T) {
	r := newRing(t, DefaultConfig())
	want := sequentialMembers(12) // node1, node10, node11, node12, node2, ...
	slices.SortFunc(want, func(a, b Member) int { return strings.Compare(a.Name, b.Name) })
	shuffled := slices.Clone(want)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	mustSet(t, r, shuffled)
	got := r.Members()
	if !slices.Equal(got, want) {
		t.Errorf("Members() = %v, want %v", got, want)
	}
	got[0].Name = "changed"
	if again := r.Members(); again[0] != want[0] {
		t.Errorf("Members() after changing a returned copy = %v, want %v", again[0], want[0])
	}
	if got, want := r.Len(), 12; got != want {
		t.Errorf("Len() = %v, want %v", got, want)
	}
}

func TestRing_Owned(t *testing.T) {
	r := newRing(t, DefaultConfig())
	mustSet(t, r, sequentialMembers(7))
	seen := make([]int, r.PartitionCount())
	for _, m := range r.Members() {
		owned := r.Owned(m.Name)
		if !slices.IsSorted(owned) {
			t.Errorf("Owned(%s) is not sorted", m.Name)
		}
		for _, p := range owned {
			seen[p]++
			if got, _ := r.PartitionOwner(p); got != m {
				t.Errorf("PartitionOwner(%d) = %v, want %v", p, got, m)
			}
		}
	}
	for p, n := range seen {
		if n != 1 {
			t.Fatalf("partition %d owned %d times, want 1", p, n)
		}
	}
	if got := r.Owned("node8"); got != nil {
		t.Errorf("Owned(node8) = %v, want nil", got)
	}
	for _, p := range []int{-1, r.PartitionCount()} {
		if m, ok := r.PartitionOwner(p); ok {
			t.Errorf("PartitionOwner(%d) = %v, true; want false", p, m)
		}
	}
}

// TestRing_agreesWithConsistent checks the lock-free lookup against the
// library's own LocateKey and FindPartitionID.
func TestRing_agreesWithConsistent(t *testing.T) {
	cfg := DefaultConfig()
	members := sequentialMembers(17)
	r := newRing(t, cfg)
	mustSet(t, r, members)
	cm := make([]consistent.Member, len(members))
	for i, m := range members {
		cm[i] = m
	}
	c := consistent.New(cm, consistent.Config{
		Hasher:            hasher(r.cfg.Hasher),
		PartitionCount:    cfg.PartitionCount,
		ReplicationFactor: cfg.ReplicationFactor,
		Load:              cfg.Load,
	})
	for i := range 10000 {
		key := fmt.Sprintf("public##DEFAULT_GROUP@@svc-%d", i)
		if got, want := r.Partition(key), c.FindPartitionID([]byte(key)); got != want {
			t.Fatalf("Partition(%q) = %v, want %v", key, got, want)
		}
		got, _ := r.Owner(key)
		if want := c.LocateKey([]byte(key)).(Member); got != want {
			t.Fatalf("Owner(%q) = %v, want %v", key, got, want)
		}
	}
}

// TestRing_deterministic is consistenthash's TestConsistency for a ring that
// is rebuilt: owners depend on the member set only, not on the order it is
// given in nor on what the ring held before.
func TestRing_deterministic(t *testing.T) {
	all := sequentialMembers(30)
	want := newRing(t, DefaultConfig())
	mustSet(t, want, all)
	wantOwners := ownerNames(want)
	keys := make([]string, 10000)
	wantKeys := make([]string, len(keys))
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%d", i)
		m, _ := want.Owner(keys[i])
		wantKeys[i] = m.Name
	}

	rng := rand.New(rand.NewPCG(42, 7))
	shuffled := func() []Member {
		ms := slices.Clone(all)
		rng.Shuffle(len(ms), func(i, j int) { ms[i], ms[j] = ms[j], ms[i] })
		return ms
	}
	tests := []struct {
		name    string
		history [][]Member // Set in this order; the last is always all 30
	}{
		{"shuffled 1", [][]Member{shuffled()}},
		{"shuffled 2", [][]Member{shuffled()}},
		{"shuffled 3", [][]Member{shuffled()}},
		{"reversed", [][]Member{reversed(all)}},
		{"grown from 10", [][]Member{all[:10], all[:20], shuffled()}},
		{"shrunk from 40", [][]Member{sequentialMembers(40), shuffled()}},
		{"after a disjoint set", [][]Member{sequentialMembers(60)[30:], shuffled()}},
		{"after empty", [][]Member{all, nil, shuffled()}},
		{"one at a time", func() [][]Member {
			var h [][]Member
			for i := 1; i <= len(all); i++ {
				h = append(h, all[:i])
			}
			return h
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRing(t, DefaultConfig())
			for _, ms := range tt.history {
				mustSet(t, r, ms)
			}
			got := ownerNames(r)
			for p := range got {
				if got[p] != wantOwners[p] {
					t.Fatalf("PartitionOwner(%d) = %v, want %v", p, got[p], wantOwners[p])
				}
			}
			for i, key := range keys {
				if m, _ := r.Owner(key); m.Name != wantKeys[i] {
					t.Fatalf("Owner(%q) = %v, want %v", key, m.Name, wantKeys[i])
				}
			}
		})
	}
}

// TestRing_concurrentReadsAndSet runs readers against a writer; run it with
// -race. Readers must always see a whole snapshot: a member of one of the sets
// the writer uses, and a version that never goes back.
func TestRing_concurrentReadsAndSet(t *testing.T) {
	r := newRing(t, DefaultConfig())
	sets := [][]Member{sequentialMembers(10), sequentialMembers(11), nil, sequentialMembers(3)}
	known := make(map[Member]bool)
	for _, m := range sequentialMembers(11) {
		known[m] = true
	}
	validLen := map[int]bool{10: true, 11: true, 0: true, 3: true}

	done := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := range 4 {
		wg.Go(func() {
			var last uint64
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				v := r.Version()
				if v < last {
					errs <- fmt.Errorf("reader %d: Version() = %v after %v", g, v, last)
					return
				}
				last = v
				if m, ok := r.Owner(fmt.Sprintf("key-%d", i)); ok && !known[m] {
					errs <- fmt.Errorf("reader %d: Owner() = %v, not a member of any set", g, m)
					return
				}
				if m, ok := r.PartitionOwner(i % r.PartitionCount()); ok && !known[m] {
					errs <- fmt.Errorf("reader %d: PartitionOwner() = %v, not a member of any set", g, m)
					return
				}
				if ms := r.Members(); !validLen[len(ms)] {
					errs <- fmt.Errorf("reader %d: Members() has %d members, want one of the sets", g, len(ms))
					return
				}
				_ = r.Owned("node1")
				_ = r.Len()
			}
		})
	}
	for i := range 100 {
		if err := r.Set(sets[i%len(sets)]); err != nil {
			t.Error(err)
		}
	}
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got, want := r.Version(), uint64(100); got != want {
		t.Errorf("Version() = %v, want %v", got, want)
	}
}
