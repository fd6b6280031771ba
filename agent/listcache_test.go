package agent_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"testing"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/store"
)

// serveLocal sends one Nacos request to a's handler in-process (form body
// for POST, query string otherwise); the answer goes to w.
func serveLocal(a *agent.Agent, w http.ResponseWriter, method, path string, v url.Values) {
	target := "/nacos/v1/ns/" + path
	var req *http.Request
	if method == http.MethodPost {
		req = httptest.NewRequest(method, target, strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", form)
	} else {
		req = httptest.NewRequest(method, target+"?"+v.Encode(), nil)
	}
	a.Handler().ServeHTTP(w, req)
}

// statusWriter is a ResponseWriter that keeps the status and throws the
// body away.
type statusWriter struct {
	h    http.Header
	code int
}

func (w *statusWriter) Header() http.Header         { return w.h }
func (w *statusWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *statusWriter) WriteHeader(code int)        { w.code = code }

// fillService registers perCluster persistent instances (which never
// expire, so the service's snapshot stays the same) in each of clusters.
func fillService(t *testing.T, a *agent.Agent, service string, clusters []string, perCluster int) {
	t.Helper()
	w := &statusWriter{h: http.Header{}}
	for _, c := range clusters {
		for i := range perCluster {
			w.code = 0
			serveLocal(a, w, http.MethodPost, "instance", vals("serviceName", service, "clusterName", c,
				"ip", fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), "port", "8080", "ephemeral", "false",
				"metadata", `{"zone":"eu-west-1a","version":"1.24.3","app":"`+service+`"}`))
			if w.code != http.StatusOK {
				t.Fatalf("register %s/%d: status %d", c, i, w.code)
			}
		}
	}
}

// clusterNames returns n cluster names, c00, c01, ...
func clusterNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("c%02d", i)
	}
	return out
}

// subset returns the clusters whose bit is set in bits, joined by commas.
func subset(clusters []string, bits int) string {
	var names []string
	for b, c := range clusters {
		if bits&(1<<b) != 0 {
			names = append(names, c)
		}
	}
	return strings.Join(names, ",")
}

// TestNacosList_cacheBoundedAfterDistinctClusters sends 10,000 lists with
// distinct clusters values, half naming unknown clusters and half a
// different set of the service's 14 clusters each, and checks the
// service's snapshot holds at most store.MaxCachedBodies bodies.
func TestNacosList_cacheBoundedAfterDistinctClusters(t *testing.T) {
	a, base := startNode(t)
	clusters := clusterNames(14)
	fillService(t, a, "many", clusters, 2)
	snap := a.Node().Snapshot(keyOf("many"))
	w := &statusWriter{h: http.Header{}}
	for i := 1; i <= 10000; i++ {
		sp := subset(clusters, i)
		if i%2 == 0 {
			sp = clusters[i%14] + ",x" + fmt.Sprint(i)
		}
		w.code = 0
		serveLocal(a, w, http.MethodGet, "instance/list", vals("serviceName", "many", "clusters", sp))
		if w.code != http.StatusOK {
			t.Fatalf("list %q: status %d", sp, w.code)
		}
	}
	if a.Node().Snapshot(keyOf("many")) != snap {
		t.Fatal("the service changed during the test")
	}
	if n := snap.CacheLen(); n > store.MaxCachedBodies {
		t.Errorf("snapshot cache after 10,000 distinct clusters values: %d bodies, want at most %d", n, store.MaxCachedBodies)
	}
	// 10,000 filters, about 5,000 distinct sets of clusters: nearly all
	// evicted a body.
	if v, ok := sample(scrape(t, base), "roster_snapshot_cache_evictions_total"); !ok || v < 4000 {
		t.Errorf("roster_snapshot_cache_evictions_total: got %v (present %v), want at least 4000", v, ok)
	}
	l := list(t, base, vals("serviceName", "many", "clusters", "c03,nope,c01,c03"))
	if l.Clusters != "c03,nope,c01,c03" || len(l.Hosts) != 4 {
		t.Errorf("list of c01 and c03: clusters %q, %d hosts; want echoed as sent and 4 hosts", l.Clusters, len(l.Hosts))
	}
}

// heapInUse returns the heap in use after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// TestNacosList_memoryBoundedAfterDistinctClusters is the done-when figure
// of anonymous list reads: 10,000 distinct clusters values against a
// 2,000-instance service (8 clusters of 250) grow the heap in use by less
// than 20 MB. Each value names an unknown cluster and one of the 255 sets
// of the service's clusters (a new set every 40 requests, so 250 bodies
// pass through the cache). The test stops as soon as the bound is passed.
func TestNacosList_memoryBoundedAfterDistinctClusters(t *testing.T) {
	const limit = 20 << 20
	a, _ := startNode(t)
	clusters := clusterNames(8)
	fillService(t, a, "big", clusters, 250)
	snap := a.Node().Snapshot(keyOf("big"))
	w := &statusWriter{h: http.Header{}}
	serveLocal(a, w, http.MethodGet, "instance/list", vals("serviceName", "big"))
	before := heapInUse()
	grown := func() int64 { return int64(heapInUse()) - int64(before) }
	for i := 1; i <= 10000; i++ {
		sp := subset(clusters, (i/40)%255+1) + ",x" + fmt.Sprint(i)
		w.code = 0
		serveLocal(a, w, http.MethodGet, "instance/list", vals("serviceName", "big", "clusters", sp))
		if w.code != http.StatusOK {
			t.Fatalf("list %q: status %d", sp, w.code)
		}
		if i%100 == 0 {
			if g := grown(); g > limit {
				t.Fatalf("heap in use grew by %.1f MB after %d distinct clusters values, want under %d MB", float64(g)/(1<<20), i, limit>>20)
			}
		}
	}
	g := grown()
	if a.Node().Snapshot(keyOf("big")) != snap {
		t.Fatal("the service changed during the test")
	}
	t.Logf("heap in use: %.1f MB before, grew by %.1f MB after 10,000 distinct clusters values (%d bodies cached)",
		float64(before)/(1<<20), float64(g)/(1<<20), snap.CacheLen())
	if g > limit {
		t.Errorf("heap in use grew by %.1f MB, want under %d MB", float64(g)/(1<<20), limit>>20)
	}
}
