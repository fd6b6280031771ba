package store

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Config configures a Store.
type Config struct {
	// Node is this node's name, the tie-break of versions it issues.
	Node string
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// TombstoneTTL is how long a deletion is remembered before Reap drops
	// it. Default 10m.
	TombstoneTTL time.Duration
	// Partitions is the number of partitions digests are kept for; 0 or 1
	// keeps one digest of everything.
	Partitions int
	// Partition maps a service to its partition in [0, Partitions). Nil
	// puts every service in partition 0.
	Partition func(Key) int
}

// DefaultConfig returns a Config with every field set.
func DefaultConfig() Config {
	return Config{Node: "local", Now: time.Now, TombstoneTTL: 10 * time.Minute}
}

// Validate reports the first invalid field.
func (c *Config) Validate() error {
	switch {
	case c.Node == "":
		return errors.New("store: config: node name is empty")
	case c.Now == nil:
		return errors.New("store: config: clock is nil")
	case c.TombstoneTTL <= 0:
		return fmt.Errorf("store: config: tombstone ttl %v must be positive", c.TombstoneTTL)
	case c.Partitions < 0:
		return fmt.Errorf("store: config: partitions %d must not be negative", c.Partitions)
	case c.Partitions > 1 && c.Partition == nil:
		return errors.New("store: config: partitions set without a partition function")
	}
	return nil
}

// Store is the in-memory registry. It is safe for concurrent use: writes
// serialize on one mutex, reads go through lock-free snapshots.
type Store struct {
	cfg      Config
	services sync.Map // Key -> *service; written under mu, read lock-free
	index    atomic.Uint64
	global   atomic.Pointer[chan struct{}] // closed on the next change; nil until asked for (Changed)
	live     atomic.Int64                  // live instances
	wake     chan struct{}                 // signalled when the earliest deadline moves earlier
	cache    CacheStats                    // of the snapshots' body caches

	// mu guards clock, every service's records and entries, heap, digests,
	// subs, byPart, absent, graves, metas, nsLive, bound and journal.
	mu      sync.Mutex
	clock   hlc
	heap    deadlines
	digests []uint64                       // per partition: XOR of the hashes of its records
	subs    []*[SubBuckets]uint64          // per partition: its digest by bucket of record ID (subdigest.go); nil until used
	byPart  map[int]map[Key]*service       // services held, by partition
	absent  map[Key]*absentWatch           // watched services that do not exist (watch.go)
	takenAt map[int]stamp                  // when each partition was last taken over here (takeover.go)
	graves  []grave                        // tombstones in burial order
	metas   metaTable                      // distinct metadata maps in use
	nsLive  map[string]int                 // live instances by namespace
	journal Journal                        // told of every applied record (journal.go); nil if none
	bound   map[string]map[string]boundSet // live connection-bound entries by holder and conn (bound.go)
	// memo is the service looked up last under mu: a write looks its
	// service up more than once (a merge's checks, then its apply).
	memo *service
}

// service holds one service's records. Its fields are guarded by Store.mu,
// except snap and stale, which readers load atomically.
type service struct {
	key        Key
	partition  int
	info       ServiceInfo
	hasInfo    bool
	infoBuried time.Time
	entries    map[InstanceKey]*entry
	live       int
	persistent int // live instances that are not ephemeral
	snap       atomic.Pointer[Snapshot]
	// stale is set when records changed after snap was built; pending
	// lists the instance keys changed since (see publish.go).
	stale        atomic.Bool
	pending      []InstanceKey
	pendingIndex uint64
	pendingAt    time.Time
}

// stamp is a time as Unix nanoseconds, 8 bytes where a time.Time takes
// 24: entries hold several, one entry per instance. Zero means unset.
type stamp int64

// stampOf returns t as a stamp.
func stampOf(t time.Time) stamp { return stamp(t.UnixNano()) }

// addNanos returns t+d for a time t in Unix nanoseconds, saturating at
// the int64 range instead of wrapping around.
func addNanos(t int64, d time.Duration) int64 {
	sum := t + int64(d)
	switch {
	case d > 0 && sum < t:
		return math.MaxInt64
	case d < 0 && sum > t:
		return math.MinInt64
	}
	return sum
}

// time returns the stamp as a time.
func (s stamp) time() time.Time { return time.Unix(0, int64(s)) }

// entry is one instance record plus local, unreplicated state.
type entry struct {
	inst     *Instance   // immutable once stored; replaced on change
	lastBeat stamp       // when this node last heard of the instance
	heard    stamp       // when a client last registered or beat it here
	floor    stamp       // no expiry transition before this (a takeover's grace); 0 if none
	inferred bool        // lastBeat is a takeover's lower bound, not a time this node heard it
	quietMs  uint32      // QuietAfter(inst) in ms, rounded up; 0 if inst is never listed quiet (see setInst)
	queued   int64       // deadline of its pending heap item (Unix ns); 0 if none
	buried   stamp       // when a tombstone was applied here
	meta     *sharedMeta // the interned metadata of inst; nil if none
	id       uint64      // instanceID of the instance: which record this is
	hash     uint64      // instanceHash of inst: which version, as the digest counts it
}

// New validates cfg and returns an empty store.
func New(cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Partitions < 1 {
		cfg.Partitions = 1
	}
	s := &Store{cfg: cfg, wake: make(chan struct{}, 1), digests: make([]uint64, cfg.Partitions),
		byPart: map[int]map[Key]*service{}, nsLive: map[string]int{}, absent: map[Key]*absentWatch{}, takenAt: map[int]stamp{}}
	s.clock = hlc{node: cfg.Node, now: cfg.Now}
	return s, nil
}

// Changed returns a channel closed at the next change anywhere in the
// store. The channel is made when first asked for after a change, so
// writes nobody waits for make none.
func (s *Store) Changed() <-chan struct{} { return s.changedChan() }

// changedChan is Changed's channel, made if none was asked for since the
// last change.
func (s *Store) changedChan() chan struct{} {
	for {
		if p := s.global.Load(); p != nil {
			return *p
		}
		ch := make(chan struct{})
		if s.global.CompareAndSwap(nil, &ch) {
			return ch
		}
	}
}

// noteChangedLocked closes the channel of Changed, if one was asked for
// since the last change. A reader that asks after the swap gets a new
// channel and reads the state this change left.
func (s *Store) noteChangedLocked() {
	if p := s.global.Swap(nil); p != nil {
		close(*p)
	}
}

// Index returns the global change index.
func (s *Store) Index() uint64 { return s.index.Load() }

// Len returns the number of live instances.
func (s *Store) Len() int { return int(s.live.Load()) }

// Snapshot returns the current view of service k; never nil. For a service
// that does not exist, the snapshot carries the global index and its
// Changed channel closes on the next change anywhere.
func (s *Store) Snapshot(k Key) *Snapshot {
	g := s.changedChan()
	if v, ok := s.services.Load(k); ok {
		if snap := s.viewOf(v.(*service)); snap != nil {
			return snap
		}
	}
	snap := emptySnapshot(k, s.index.Load())
	snap.changed = g
	return snap
}

// CacheStats returns the counters of the snapshots' body caches.
func (s *Store) CacheStats() *CacheStats { return &s.cache }

// Stats returns how many services exist and how many live instances
// there are.
func (s *Store) Stats() (services, instances int) {
	s.services.Range(func(_, v any) bool {
		if s.exists(v.(*service)) {
			services++
		}
		return true
	})
	return services, s.Len()
}

// exists reports what svc's snapshot's Exists would, without building the
// snapshot: readers of every service (the health checker's scans, the
// metrics) must not rebuild each changed snapshot nobody else reads.
func (s *Store) exists(svc *service) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return svc.hasInfo && !svc.info.Deleted || svc.live > 0
}

// PersistentServices returns the keys of the services that hold live
// persistent (not ephemeral) instances: those a health checker checks.
func (s *Store) PersistentServices() []Key {
	var out []Key
	s.services.Range(func(k, v any) bool {
		s.mu.Lock()
		n := v.(*service).persistent
		s.mu.Unlock()
		if n > 0 {
			out = append(out, k.(Key))
		}
		return true
	})
	return out
}

// AllServices returns the keys of every existing service.
func (s *Store) AllServices() []Key {
	var out []Key
	s.services.Range(func(k, v any) bool {
		if s.exists(v.(*service)) {
			out = append(out, k.(Key))
		}
		return true
	})
	return out
}

// Services lists the existing services of a namespace (all groups when
// group is empty), sorted by group and name.
func (s *Store) Services(namespace, group string) []Summary {
	var out []Summary
	s.services.Range(func(key, v any) bool {
		k := key.(Key)
		if k.Namespace != namespace || (group != "" && k.Group != group) {
			return true
		}
		snap := s.viewOf(v.(*service))
		if snap == nil || !snap.Exists {
			return true
		}
		out = append(out, Summary{Key: k, Instances: len(snap.Instances), Healthy: snap.Healthy()})
		return true
	})
	slices.SortFunc(out, func(a, b Summary) int { return compareKeys(a.Key, b.Key) })
	return out
}

// serviceLocked returns the service record for k, creating it.
func (s *Store) serviceLocked(k Key) *service {
	if svc := s.loadLocked(k); svc != nil {
		return svc
	}
	svc := &service{key: k, entries: map[InstanceKey]*entry{}, partition: s.partitionOf(k)}
	s.services.Store(k, svc)
	if s.byPart[svc.partition] == nil {
		s.byPart[svc.partition] = map[Key]*service{}
	}
	s.byPart[svc.partition][k] = svc
	return svc
}

// loadLocked returns the service k, or nil.
func (s *Store) loadLocked(k Key) *service {
	if m := s.memo; m != nil && m.key == k {
		return m
	}
	v, ok := s.services.Load(k)
	if !ok {
		return nil
	}
	s.memo = v.(*service)
	return s.memo
}

// dropLocked forgets a service that holds nothing.
func (s *Store) dropLocked(svc *service) {
	if s.memo == svc {
		s.memo = nil
	}
	s.services.Delete(svc.key)
	delete(s.byPart[svc.partition], svc.key)
}

// lookupLocked returns the entry for ik in k, or nil.
func (s *Store) lookupLocked(k Key, ik InstanceKey) (*service, *entry) {
	svc := s.loadLocked(k)
	if svc == nil {
		return nil, nil
	}
	return svc, svc.entries[ik]
}
