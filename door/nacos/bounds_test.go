package nacos

import (
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/roster-io/roster/store"
)

// testDoor returns a door able to encode lists (no node, no push socket).
func testDoor() *Door {
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	return &Door{cfg: Config{CacheMillis: 3000, Now: func() time.Time { return t0 },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}}
}

// testSnapshot returns a snapshot of svc with perCluster instances in
// each of clusters (given sorted), every third one unhealthy.
func testSnapshot(clusters []string, perCluster int) *store.Snapshot {
	snap := &store.Snapshot{Key: store.Key{Namespace: store.DefaultNamespace, Group: store.DefaultGroup, Service: "svc"},
		Exists: true, Tracked: true, Index: 7, Modified: time.Date(2024, 5, 1, 11, 0, 0, 0, time.UTC)}
	for _, c := range clusters {
		for i := range perCluster {
			snap.Instances = append(snap.Instances, &store.Instance{
				InstanceKey: store.InstanceKey{Cluster: c, IP: fmt.Sprintf("10.0.0.%d", i+1), Port: 80},
				Weight:      1, Healthy: i%3 != 2, Enabled: true, Ephemeral: true,
				Metadata: map[string]string{"zone": "a<&>"},
			})
		}
	}
	return snap
}

// sreq is the subscription of a client at remote (ip:port) listening on
// udpPort.
func sreq(k store.Key, clusters, remote string, udpPort int) subReq {
	ap := netip.MustParseAddrPort(remote)
	return subReq{subKey: subKey{key: k, clusters: clusters, addr: netip.AddrPortFrom(ap.Addr(), uint16(udpPort))}}
}

// rawFilter is how instance/list read clusters before its cache keys were
// canonical: every name as sent, unknown ones included.
func rawFilter(s string) map[string]bool {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	out := map[string]bool{}
	for _, c := range strings.Split(s, ",") {
		if c = strings.TrimSpace(c); c != "" {
			out[c] = true
		}
	}
	return out
}

// listAnswer is the body instance/list answers for clusters as sent.
func listAnswer(t *testing.T, d *Door, snap *store.Snapshot, clusters string, healthyOnly bool) string {
	t.Helper()
	body, echo, err := d.cachedList(snap, clusters, healthyOnly, 3000)
	if err != nil {
		t.Fatalf("cachedList(%q): %v", clusters, err)
	}
	head, value, tail := spliceClusters(body, echo, clusters)
	return string(head) + string(value) + string(tail)
}

// TestNacosList_canonicalKeysKeepAnswers checks that canonical cache keys
// change no answer: for every spelling of a filter, the body is the one
// encoded for exactly that spelling (the clusters field echoes it as
// sent), while the snapshot caches one body per set of its clusters.
func TestNacosList_canonicalKeysKeepAnswers(t *testing.T) {
	d := testDoor()
	snap := testSnapshot([]string{"DEFAULT", "a&b", "c2"}, 3)
	spellings := []string{"", "  ", "DEFAULT", "a&b", "DEFAULT,a&b", "a&b,DEFAULT", " a&b , DEFAULT,a&b ",
		"DEFAULT,x1", "x1,DEFAULT", "x1", "x1,x2", "DEFAULT,a&b,c2", "c2,a&b,DEFAULT,nope", "c2,,c2"}
	for _, healthyOnly := range []bool{false, true} {
		for _, sp := range spellings {
			want := string(d.encodeList(snap, sp, rawFilter(sp), healthyOnly, 3000))
			if got := listAnswer(t, d, snap, sp, healthyOnly); got != want {
				t.Errorf("clusters %q healthyOnly %v:\n got %s\nwant %s", sp, healthyOnly, got, want)
			}
		}
	}
	// Per healthyOnly: all, none, {DEFAULT}, {a&b}, {DEFAULT,a&b}, {all three}, {c2}.
	if n := snap.CacheLen(); n != 14 {
		t.Errorf("CacheLen got %d, want 14 (7 sets of clusters x healthyOnly)", n)
	}
	// A filter that names no cluster at all lists every cluster, as in
	// Nacos, and still echoes what was sent.
	want := strings.Replace(string(d.encodeList(snap, "", nil, false, 3000)), `"clusters":""`, `"clusters":","`, 1)
	if got := listAnswer(t, d, snap, ",", false); got != want {
		t.Errorf(`clusters ",": got %s, want %s`, got, want)
	}
	if _, _, err := d.cachedList(snap, "ok,a\x01", false, 3000); err == nil || !strings.Contains(err.Error(), "clusters") {
		t.Errorf("bad name: got %v, want an error naming clusters", err)
	}
}

// TestNacosList_cacheBoundedOverManyFilters sends 10,000 filters that each
// name a different set of the service's 14 clusters: the snapshot keeps
// at most store.MaxCachedBodies bodies, and every answer is still right.
func TestNacosList_cacheBoundedOverManyFilters(t *testing.T) {
	d := testDoor()
	var clusters []string
	for i := range 14 {
		clusters = append(clusters, fmt.Sprintf("c%02d", i))
	}
	snap := testSnapshot(clusters, 1)
	for i := 1; i <= 10000; i++ {
		var names []string
		for b, c := range clusters {
			if i&(1<<b) != 0 {
				names = append(names, c)
			}
		}
		sp := strings.Join(names, ",")
		if i%1000 == 0 {
			want := string(d.encodeList(snap, sp, rawFilter(sp), false, 3000))
			if got := listAnswer(t, d, snap, sp, false); got != want {
				t.Fatalf("clusters %q: got %s, want %s", sp, got, want)
			}
			continue
		}
		listAnswer(t, d, snap, sp, false)
	}
	if n := snap.CacheLen(); n > store.MaxCachedBodies {
		t.Errorf("CacheLen after 10,000 distinct filters: got %d, want at most %d", n, store.MaxCachedBodies)
	}
}

// TestNacosList_cacheKeepsHotBody checks eviction spares a body clients
// keep reading while one-off filters churn through the cache.
func TestNacosList_cacheKeepsHotBody(t *testing.T) {
	snap := testSnapshot([]string{"DEFAULT"}, 1)
	builds := 0
	hot := func() []byte { builds++; return []byte("hot") }
	for i := range 1000 {
		snap.Cached("hot", hot)
		snap.Cached(fmt.Sprintf("cold%d", i), func() []byte { return []byte("cold") })
	}
	if builds != 1 {
		t.Errorf("hot body built %d times, want 1", builds)
	}
	if n := snap.CacheLen(); n != store.MaxCachedBodies {
		t.Errorf("CacheLen got %d, want %d", n, store.MaxCachedBodies)
	}
}

// TestNacosPush_subscriptionsBounded checks one client cannot grow the
// push subscriptions without bound by varying clusters, service or port,
// that a known subscription is still refreshed at the bound, and that a
// lapsed one frees its place.
func TestNacosPush_subscriptionsBounded(t *testing.T) {
	p, err := newPusher("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer p.conn.Close()
	now := time.Unix(1000, 0)
	k := store.Key{Namespace: store.DefaultNamespace, Group: store.DefaultGroup, Service: "big"}
	for i := range 5000 {
		k2 := k
		k2.Service = fmt.Sprintf("svc%d", i%7)
		p.subscribe(sreq(k2, fmt.Sprintf("DEFAULT,x%d", i), "192.0.2.1:5555", 40000+i%100), 1, now)
	}
	if n := len(p.subs); n > maxSubsPerIP {
		t.Fatalf("subscriptions of one client IP: got %d, want at most %d", n, maxSubsPerIP)
	}
	if !p.subscribe(sreq(store.Key{Namespace: store.DefaultNamespace, Group: store.DefaultGroup, Service: "svc0"},
		"DEFAULT,x0", "192.0.2.1:5555", 40000), 1, now.Add(time.Second)) {
		t.Error("a known subscription at the bound was not refreshed")
	}
	if !p.subscribe(sreq(k, "DEFAULT", "192.0.2.2:5555", 40000), 1, now) {
		t.Error("another client IP was refused")
	}
	if p.subscribe(sreq(k, strings.Repeat("c,", maxSubClusters), "192.0.2.3:5555", 40000), 1, now) {
		t.Error("a clusters parameter over the bound was subscribed")
	}
	for i := range maxSubs + 10 { // one subscription from each of many IPs
		p.subscribe(sreq(k, "DEFAULT", fmt.Sprintf("10.1.%d.%d:1", i/250, i%250), 40000), 1, now)
	}
	if n := len(p.subs); n > maxSubs {
		t.Fatalf("subscriptions: got %d, want at most %d", n, maxSubs)
	}
	p.mu.Lock()
	for sk := range p.subs {
		p.dropLocked(sk)
	}
	left := len(p.perIP)
	p.mu.Unlock()
	if left != 0 {
		t.Errorf("per-IP counts after dropping all: %d IPs left, want none", left)
	}
}
