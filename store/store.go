package store

import (
	"errors"
	"fmt"
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
	global   atomic.Pointer[chan struct{}] // closed on every change
	live     atomic.Int64                  // live instances
	wake     chan struct{}                 // signalled when the earliest deadline moves earlier

	// mu guards clock, every service's records and entries, heap, byPart,
	// deferred and nsLive.
	mu       sync.Mutex
	clock    hlc
	heap     deadlines
	digests  []uint64                   // per partition: XOR of the hashes of its records
	deferred map[*service][]InstanceKey // changes of a sweep in progress
	byPart   map[int]map[Key]*service   // services held, by partition
	nsLive   map[string]int             // live instances by namespace
}

// service holds one service's records. Its fields are guarded by Store.mu,
// except snap, which readers load atomically.
type service struct {
	key        Key
	partition  int
	info       ServiceInfo
	hasInfo    bool
	infoBuried time.Time
	entries    map[InstanceKey]*entry
	live       int
	snap       atomic.Pointer[Snapshot]
}

// entry is one instance record plus local, unreplicated state.
type entry struct {
	inst     *Instance // immutable once stored; replaced on change
	lastBeat time.Time // when this node last heard of the instance
	heard    time.Time // when a client last registered or beat it here
	queued   time.Time // deadline of its pending heap item; zero if none
	buried   time.Time // when a tombstone was applied here
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
		byPart: map[int]map[Key]*service{}, nsLive: map[string]int{}}
	s.clock = hlc{node: cfg.Node, now: cfg.Now}
	ch := make(chan struct{})
	s.global.Store(&ch)
	return s, nil
}

// Changed returns a channel closed at the next change anywhere in the
// store.
func (s *Store) Changed() <-chan struct{} { return *s.global.Load() }

// Index returns the global change index.
func (s *Store) Index() uint64 { return s.index.Load() }

// Len returns the number of live instances.
func (s *Store) Len() int { return int(s.live.Load()) }

// Snapshot returns the current view of service k; never nil. For a service
// that does not exist, the snapshot carries the global index and its
// Changed channel closes on the next change anywhere.
func (s *Store) Snapshot(k Key) *Snapshot {
	g := *s.global.Load()
	if v, ok := s.services.Load(k); ok {
		if snap := v.(*service).snap.Load(); snap != nil {
			return snap
		}
	}
	snap := emptySnapshot(k, s.index.Load())
	snap.changed = g
	return snap
}

// Stats returns how many services exist and how many live instances
// there are.
func (s *Store) Stats() (services, instances int) {
	s.services.Range(func(_, v any) bool {
		if snap := v.(*service).snap.Load(); snap != nil && snap.Exists {
			services++
		}
		return true
	})
	return services, s.Len()
}

// AllServices returns the keys of every existing service.
func (s *Store) AllServices() []Key {
	var out []Key
	s.services.Range(func(k, v any) bool {
		if snap := v.(*service).snap.Load(); snap != nil && snap.Exists {
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
		snap := v.(*service).snap.Load()
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
	if v, ok := s.services.Load(k); ok {
		return v.(*service)
	}
	svc := &service{key: k, entries: map[InstanceKey]*entry{}, partition: s.partitionOf(k)}
	s.services.Store(k, svc)
	if s.byPart[svc.partition] == nil {
		s.byPart[svc.partition] = map[Key]*service{}
	}
	s.byPart[svc.partition][k] = svc
	return svc
}

// dropLocked forgets a service that holds nothing.
func (s *Store) dropLocked(svc *service) {
	s.services.Delete(svc.key)
	delete(s.byPart[svc.partition], svc.key)
}

// lookupLocked returns the entry for ik in k, or nil.
func (s *Store) lookupLocked(k Key, ik InstanceKey) (*service, *entry) {
	v, ok := s.services.Load(k)
	if !ok {
		return nil, nil
	}
	svc := v.(*service)
	return svc, svc.entries[ik]
}

// publishLocked publishes a new snapshot of svc after a change to the
// instance at changed (or to the service record), bumps the index and
// wakes every watcher. During a Sweep it only marks svc, and the sweep
// publishes each changed service once at its end.
func (s *Store) publishLocked(svc *service, changed InstanceKey, now time.Time) {
	if s.deferred != nil {
		s.deferred[svc] = append(s.deferred[svc], changed)
		return
	}
	var prev []*Instance
	if old := svc.snap.Load(); old != nil {
		prev = old.Instances
	}
	s.publishInstancesLocked(svc, spliceInstance(prev, svc.entries[changed], changed), now)
}

// flushDeferredLocked publishes every service a sweep changed, merging
// its changed keys into the previous sorted list in one pass.
func (s *Store) flushDeferredLocked(now time.Time) {
	dirty := s.deferred
	s.deferred = nil
	for svc, changed := range dirty {
		slices.SortFunc(changed, compareInstanceKeys)
		changed = slices.Compact(changed)
		var prev []*Instance
		if old := svc.snap.Load(); old != nil {
			prev = old.Instances
		}
		out := make([]*Instance, 0, len(prev)+len(changed))
		i, j := 0, 0
		for i < len(prev) || j < len(changed) {
			c := -1
			switch {
			case i == len(prev):
				c = 1
			case j < len(changed):
				c = compareInstanceKeys(prev[i].InstanceKey, changed[j])
			}
			if c < 0 {
				out = append(out, prev[i])
				i++
				continue
			}
			if e := svc.entries[changed[j]]; e != nil && !e.inst.Deleted {
				out = append(out, e.inst)
			}
			if c == 0 {
				i++
			}
			j++
		}
		s.publishInstancesLocked(svc, out, now)
	}
}

// publishInstancesLocked publishes svc with the sorted live instances.
func (s *Store) publishInstancesLocked(svc *service, instances []*Instance, now time.Time) {
	old := svc.snap.Load()
	snap := &Snapshot{
		Key:       svc.key,
		Tracked:   true,
		Explicit:  svc.hasInfo && !svc.info.Deleted,
		Instances: instances,
		Modified:  now,
		changed:   make(chan struct{}),
	}
	if snap.Explicit {
		snap.Info = svc.info
	}
	snap.Exists = snap.Explicit || len(snap.Instances) > 0
	snap.Index = s.index.Add(1)
	svc.snap.Store(snap)
	if old != nil {
		close(old.changed)
	}
	if len(svc.entries) == 0 && !svc.hasInfo {
		s.dropLocked(svc)
	}
	ch := make(chan struct{})
	close(*s.global.Swap(&ch))
}

// spliceInstance returns a copy of the sorted slice prev with the instance
// at ik replaced by e's live instance, inserted, or removed.
func spliceInstance(prev []*Instance, e *entry, ik InstanceKey) []*Instance {
	i, found := slices.BinarySearchFunc(prev, ik, func(in *Instance, k InstanceKey) int {
		return compareInstanceKeys(in.InstanceKey, k)
	})
	live := e != nil && !e.inst.Deleted
	out := make([]*Instance, 0, len(prev)+1)
	out = append(out, prev[:i]...)
	if live {
		out = append(out, e.inst)
	}
	if found {
		i++
	}
	return append(out, prev[i:]...)
}
