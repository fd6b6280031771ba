package node

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/roster-io/roster/api"
	"github.com/roster-io/roster/ring"
)

// TestCluster_ringView: every node's GET /v1/cluster/ring is a valid
// table that names, for many keys, the same owner (name and address) as
// the node's ring, through the same partition; /v1/cluster/members
// carries the same version and parameters.
func TestCluster_ringView(t *testing.T) {
	tc := newTestCluster(t, 3)
	for _, n := range tc.live() {
		var members api.Members
		var view api.Ring
		eventually(t, 5*time.Second, "a stable ring on "+n.cfg.Name, func() bool {
			code, body := do(t, http.MethodGet, base(n)+"/v1/cluster/members", "", "")
			mustJSON(t, body, &members)
			code2, body2 := do(t, http.MethodGet, base(n)+"/v1/cluster/ring", "", "")
			mustJSON(t, body2, &view)
			return code == 200 && code2 == 200 && len(view.Members) == 3 &&
				members.Ring.Version == view.Version && view.Version == n.ring.Version()
		})
		if err := view.Validate(); err != nil {
			t.Fatalf("%s: %v", n.cfg.Name, err)
		}
		if want := (api.RingInfo{Partitions: n.ring.PartitionCount(), Hash: api.HashXXHash64, Version: view.Version}); members.Ring != want ||
			view.Partitions != want.Partitions || view.Hash != want.Hash {
			t.Fatalf("%s: members say %+v, the ring %d partitions %q; want %+v", n.cfg.Name, members.Ring, view.Partitions, view.Hash, want)
		}
		for i := range 5000 {
			k := api.ServiceKey(api.DefaultNamespace, api.DefaultGroup, fmt.Sprintf("svc-%d", i))
			if p, want := api.Partition(k, view.Partitions), n.ring.Partition(k); p != want {
				t.Fatalf("partition of %s: api says %d, the ring %d", k, p, want)
			}
			got, ok := view.Owner(k)
			want, _ := n.ring.Owner(k)
			if !ok || got.Name != want.Name || got.HTTPAddr != want.Addr || got.Epoch != want.Epoch {
				t.Fatalf("owner of %s on %s: table says %+v, the ring %+v", k, n.cfg.Name, got, want)
			}
		}
	}
}

// TestRingView_snapshot: an empty ring renders as no members and no
// owners; while the members change, every view is one whole ring (never
// a mix of two), with the version of that ring.
func TestRingView_snapshot(t *testing.T) {
	r, err := ring.New(ring.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	empty := ringView(r)
	if err := empty.Validate(); err != nil || len(empty.Members) != 0 || len(empty.Owners) != 0 || empty.Version != 0 {
		t.Fatalf("empty ring: %+v (%v)", empty.Members, err)
	}
	sets := [][]ring.Member{
		{{Name: "a", Addr: "a:1"}, {Name: "b", Addr: "b:1"}},
		{{Name: "a", Addr: "a:1"}, {Name: "b", Addr: "b:1"}, {Name: "c", Addr: "c:1"}},
	}
	want := make([]api.Ring, len(sets))
	for i, s := range sets {
		if err := r.Set(s); err != nil {
			t.Fatal(err)
		}
		want[i] = ringView(r)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 200 {
			if err := r.Set(sets[i%2]); err != nil {
				t.Error(err)
				return
			}
		}
	})
	for range 200 {
		v := ringView(r)
		i := len(v.Members) - 2
		if i < 0 || i > 1 || !slices.Equal(v.Owners, want[i].Owners) || !slices.Equal(v.Members, want[i].Members) {
			t.Fatalf("view at version %d is not one of the rings: %d members", v.Version, len(v.Members))
		}
	}
	wg.Wait()
}
