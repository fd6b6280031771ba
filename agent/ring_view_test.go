package agent_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/api"
	"github.com/roster-io/roster/internal/await"
)

// TestCluster_ringView: every node's GET /v1/cluster/ring is a valid
// table that names, for many keys, the same owner (name and address) as
// the node's ring, through the same partition; /v1/cluster/members
// carries the same version and parameters.
func TestCluster_ringView(t *testing.T) {
	tc := agenttest.NewCluster(t, 3)
	for _, n := range tc.Agents() {
		var members api.Members
		var view api.Ring
		await.True(t, 5*time.Second, "a stable ring on "+n.Node().Name(), func() bool {
			code, body := do(t, http.MethodGet, base(n)+"/v1/cluster/members", "", "")
			mustJSON(t, body, &members)
			code2, body2 := do(t, http.MethodGet, base(n)+"/v1/cluster/ring", "", "")
			mustJSON(t, body2, &view)
			return code == 200 && code2 == 200 && len(view.Members) == 3 &&
				members.Ring.Version == view.Version && view.Version == n.Node().Ring().Version()
		})
		if err := view.Validate(); err != nil {
			t.Fatalf("%s: %v", n.Node().Name(), err)
		}
		if want := (api.RingInfo{Partitions: n.Node().Ring().PartitionCount(), Hash: api.HashXXHash64, Version: view.Version}); members.Ring != want ||
			view.Partitions != want.Partitions || view.Hash != want.Hash {
			t.Fatalf("%s: members say %+v, the ring %d partitions %q; want %+v", n.Node().Name(), members.Ring, view.Partitions, view.Hash, want)
		}
		for i := range 5000 {
			k := api.ServiceKey(api.DefaultNamespace, api.DefaultGroup, fmt.Sprintf("svc-%d", i))
			if p, want := api.Partition(k, view.Partitions), n.Node().Ring().Partition(k); p != want {
				t.Fatalf("partition of %s: api says %d, the ring %d", k, p, want)
			}
			got, ok := view.Owner(k)
			want, _ := n.Node().Ring().Owner(k)
			if !ok || got.Name != want.Name || got.HTTPAddr != want.Addr || got.Epoch != want.Epoch {
				t.Fatalf("owner of %s on %s: table says %+v, the ring %+v", k, n.Node().Name(), got, want)
			}
		}
	}
}
