package consul

import "sync"

// maxCachedLists bounds the whole-registry bodies the door keeps.
const maxCachedLists = 256

// listCache keeps the encoded bodies of whole-registry reads (the
// services and nodes lists, health by state) by what they list and the
// registry index they were built at. Every watcher of a list wakes at the
// same change, and they share one build instead of each walking the
// registry. It is safe for concurrent use.
type listCache struct {
	mu sync.Mutex
	m  map[string]*cachedList // guarded by mu
}

// cachedList is one body, built once.
type cachedList struct {
	index uint64
	once  sync.Once
	body  []byte
}

// get returns the body cached under key at index, building it with build
// on first use; concurrent callers with the same key and index wait for
// one build.
func (c *listCache) get(key string, index uint64, build func() []byte) []byte {
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]*cachedList{}
	}
	e, ok := c.m[key]
	if !ok || e.index != index {
		if !ok && len(c.m) >= maxCachedLists {
			for k := range c.m { // drop any one
				delete(c.m, k)
				break
			}
		}
		e = &cachedList{index: index}
		c.m[key] = e
	}
	c.mu.Unlock()
	e.once.Do(func() { e.body = build() })
	return e.body
}
