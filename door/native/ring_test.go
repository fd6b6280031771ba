package native

import (
	"slices"
	"sync"
	"testing"

	"github.com/roster-io/roster/api"
	"github.com/roster-io/roster/ring"
)

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
