package consul

import (
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

// TestListCache checks that watchers waking at one index share one build,
// that a new index builds again, and that the cache stays bounded.
func TestListCache(t *testing.T) {
	var c listCache
	var builds atomic.Int32
	build := func() []byte { builds.Add(1); return []byte("x") }
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if b := c.get("services", 7, build); string(b) != "x" {
				t.Errorf("got %q", b)
			}
		})
	}
	wg.Wait()
	if n := builds.Load(); n != 1 {
		t.Fatalf("50 concurrent reads at one index built %d times; want 1", n)
	}
	c.get("services", 8, build)
	if n := builds.Load(); n != 2 {
		t.Fatalf("a read at a new index: %d builds; want 2", n)
	}
	for i := range 3 * maxCachedLists {
		c.get("k"+strconv.Itoa(i), 1, build)
	}
	if len(c.m) > maxCachedLists {
		t.Fatalf("cache holds %d bodies; want at most %d", len(c.m), maxCachedLists)
	}
}
