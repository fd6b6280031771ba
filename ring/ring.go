package ring

import (
	"cmp"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
)

// Ring maps keys to the members responsible for them. It is safe for
// concurrent use: reads never block and see either the members before or
// after a concurrent Set, never a mix.
type Ring struct {
	cfg        Config // validated; Hasher is never nil
	partitions uint64 // cfg.PartitionCount
	hashString func(string) uint64

	// mu serializes Set; it guards writes to state. Readers load state
	// without it.
	mu    sync.Mutex
	state atomic.Pointer[state]
}

// state is one immutable snapshot of the ring. Nothing in it changes after it
// is published.
type state struct {
	version uint64
	members []Member // sorted by Name
	owners  []int32  // owners[p] is the index in members of p's owner; nil if members is empty
}

// New returns an empty Ring for cfg: Owner reports false until Set gives it
// members. It returns an error wrapping ErrInvalidConfig if cfg is invalid.
func New(cfg Config) (*Ring, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &Ring{partitions: uint64(cfg.PartitionCount)}
	if cfg.Hasher == nil {
		cfg.Hasher = xxhash.Sum64
		r.hashString = xxhash.Sum64String // same value, without copying the key
	} else {
		h := cfg.Hasher
		r.hashString = func(s string) uint64 { return h([]byte(s)) }
	}
	r.cfg = cfg
	r.state.Store(&state{})
	return r, nil
}

// Set replaces the whole member set. The result depends only on the members
// given, not on their order or on earlier calls. An empty set is allowed.
// Set returns an error wrapping ErrInvalidMember if a name is empty or
// repeated, or ErrPlacement if the library cannot place the partitions; on
// error the ring is unchanged.
func (r *Ring) Set(members []Member) error {
	sorted := slices.Clone(members)
	slices.SortFunc(sorted, func(a, b Member) int { return cmp.Compare(a.Name, b.Name) })
	for i, m := range sorted {
		if m.Name == "" {
			return fmt.Errorf("%w: empty name (addr %q)", ErrInvalidMember, m.Addr)
		}
		if i > 0 && sorted[i-1].Name == m.Name {
			return fmt.Errorf("%w: duplicate name %q", ErrInvalidMember, m.Name)
		}
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	cur := r.state.Load()
	if slices.Equal(cur.members, sorted) {
		return nil
	}
	next := &state{version: cur.version + 1, members: sorted}
	switch {
	case len(sorted) == 0:
	case sameNames(cur.members, sorted):
		// Only Addr or Epoch changed: placement depends on names alone.
		next.owners = cur.owners
	default:
		owners, err := r.place(sorted)
		if err != nil {
			return err
		}
		next.owners = owners
	}
	r.state.Store(next)
	return nil
}

// sameNames reports whether a and b, both sorted, hold the same names.
func sameNames(a, b []Member) bool {
	return slices.EqualFunc(a, b, func(x, y Member) bool { return x.Name == y.Name })
}

// Owner returns the member responsible for key, or false if the ring has no
// members.
func (r *Ring) Owner(key string) (Member, bool) {
	st := r.state.Load()
	if len(st.members) == 0 {
		return Member{}, false
	}
	return st.members[st.owners[r.Partition(key)]], true
}

// Partition returns the partition key hashes to, in [0, PartitionCount()). It
// does not depend on the members.
func (r *Ring) Partition(key string) int {
	return int(r.hashString(key) % r.partitions)
}

// PartitionOwner returns the owner of partition p, or false if p is out of
// range or the ring has no members.
func (r *Ring) PartitionOwner(p int) (Member, bool) {
	st := r.state.Load()
	if p < 0 || p >= len(st.owners) {
		return Member{}, false
	}
	return st.members[st.owners[p]], true
}

// PartitionCount returns the number of partitions, Config.PartitionCount.
func (r *Ring) PartitionCount() int {
	return r.cfg.PartitionCount
}

// Members returns a copy of the members, sorted by name.
func (r *Ring) Members() []Member {
	return slices.Clone(r.state.Load().members)
}

// Len returns the number of members.
func (r *Ring) Len() int {
	return len(r.state.Load().members)
}

// Owned returns, in increasing order, the partitions owned by the member
// called name; nil if there is no such member.
func (r *Ring) Owned(name string) []int {
	st := r.state.Load()
	i, ok := indexOf(st.members, name)
	if !ok {
		return nil
	}
	var ps []int
	for p, o := range st.owners {
		if o == int32(i) {
			ps = append(ps, p)
		}
	}
	return ps
}

// Version returns a counter that starts at 0 and grows by one on every Set
// that changes the members (a name, Addr or Epoch), so callers can tell
// whether ownership may have changed since they last looked.
func (r *Ring) Version() uint64 {
	return r.state.Load().version
}
