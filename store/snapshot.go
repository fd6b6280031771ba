package store

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// MaxCachedBodies is how many encoded bodies one snapshot keeps (see
// Cached). The keys of the doors' bodies depend on request parameters, so
// without a cap a client could grow a long-lived snapshot without bound.
const MaxCachedBodies = 16

// Snapshot is an immutable view of one service at one index. It is safe
// for concurrent use; callers must not modify what it hands out.
type Snapshot struct {
	// Key names the service.
	Key Key
	// Exists is false for a service that has neither a live service record
	// nor live instances.
	Exists bool
	// Tracked is false for the stand-in snapshot of a service the store
	// holds no records of.
	Tracked bool
	// Explicit is true when the service was created on its own (it then
	// outlives its instances until deleted).
	Explicit bool
	// Info is the service record; zero-valued when not Explicit.
	Info ServiceInfo
	// Instances are the live instances, sorted by cluster, ip, port. They
	// are shared and must not be modified.
	Instances []*Instance
	// Index is the global change index of the service's last change.
	Index uint64
	// Modified is when the last change was applied here.
	Modified time.Time

	changed chan struct{}
	cache   bodyCache
	stats   *CacheStats // nil for snapshots built outside a store
}

// CacheStats counts the body caches of a store's snapshots.
type CacheStats struct {
	// Evictions counts bodies dropped to make room for another.
	Evictions atomic.Uint64
}

// bodyCache holds at most MaxCachedBodies encoded bodies. Reads are
// lock-free; inserts and evictions serialize on mu. The zero value is
// empty and ready.
type bodyCache struct {
	m  sync.Map // string -> *cachedBody
	mu sync.Mutex
	n  int // entries in m; guarded by mu
}

// cachedBody is one cached encoding. used is set when it is read and
// cleared as eviction passes over it, so a body read since the last
// eviction gets a second chance (the CLOCK policy): bodies clients keep
// reading stay, one-off ones go first.
type cachedBody struct {
	b    []byte
	used atomic.Bool
}

// Changed returns a channel closed when a newer snapshot replaces this one.
func (s *Snapshot) Changed() <-chan struct{} { return s.changed }

// Healthy counts the healthy instances.
func (s *Snapshot) Healthy() int {
	n := 0
	for i := range s.Instances {
		if s.Instances[i].Healthy {
			n++
		}
	}
	return n
}

// Find returns the live instance with key ik.
func (s *Snapshot) Find(ik InstanceKey) (Instance, bool) {
	i, ok := slices.BinarySearchFunc(s.Instances, ik, func(in *Instance, k InstanceKey) int {
		return compareInstanceKeys(in.InstanceKey, k)
	})
	if !ok {
		return Instance{}, false
	}
	return *s.Instances[i], true
}

// Cached returns the bytes cached under key for this snapshot, building
// and storing them on first use. Because a snapshot never changes, cached
// encodings stay valid for its lifetime. A snapshot keeps at most
// MaxCachedBodies of them: storing one more evicts one not read since the
// last eviction (or, if all were, any one).
func (s *Snapshot) Cached(key string, build func() []byte) []byte {
	if v, ok := s.cache.m.Load(key); ok {
		c := v.(*cachedBody)
		if !c.used.Load() {
			c.used.Store(true)
		}
		return c.b
	}
	return s.cache.add(key, build(), s.stats)
}

// CacheLen returns how many bodies the snapshot holds.
func (s *Snapshot) CacheLen() int {
	s.cache.mu.Lock()
	defer s.cache.mu.Unlock()
	return s.cache.n
}

// add stores b under key, evicting a body if the cache is full, and
// returns what key then holds (another caller may have stored it first).
func (c *bodyCache) add(key string, b []byte, stats *CacheStats) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.m.Load(key); ok {
		return v.(*cachedBody).b
	}
	if c.n >= MaxCachedBodies {
		c.evictLocked()
		if stats != nil {
			stats.Evictions.Add(1)
		}
	} else {
		c.n++
	}
	c.m.Store(key, &cachedBody{b: b})
	return b
}

// evictLocked drops the first body found that was not read since it was
// last passed over, clearing the marks it passes; if every body was read,
// it drops the first one it passed.
func (c *bodyCache) evictLocked() {
	var victim any
	c.m.Range(func(k, v any) bool {
		if victim == nil {
			victim = k
		}
		if v.(*cachedBody).used.Swap(false) {
			return true
		}
		victim = k
		return false
	})
	c.m.Delete(victim)
}

// emptySnapshot is the view of a service that does not exist.
func emptySnapshot(k Key, index uint64) *Snapshot {
	return &Snapshot{Key: k, Index: index, changed: make(chan struct{})}
}
