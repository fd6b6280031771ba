package native

import (
	"net/http"

	"github.com/roster-io/roster/api"
	"github.com/roster-io/roster/door/gate"
	"github.com/roster-io/roster/ring"
)

// The ring view: GET /v1/cluster/ring publishes this node's ownership
// table (api.Ring) so that a client beats straight to each service's
// owner without rebuilding the ring, and /v1/cluster/members carries the
// ring's parameters and version (api.RingInfo) so that the client knows
// when its table is stale. The node's ring hashes keys with xxhash64
// (ring.DefaultConfig has no Hasher), which is what api.Partition computes.

// ringInfo describes r for /v1/cluster/members.
func ringInfo(r *ring.Ring) api.RingInfo {
	return api.RingInfo{Partitions: r.PartitionCount(), Hash: api.HashXXHash64, Version: r.Version()}
}

// ringView renders r as api.Ring: its members (sorted by name) and the
// owner of every partition, read from one snapshot of the ring. The ring
// changes only by whole snapshots, each with a higher version, so reading
// the same version before and after means nothing changed in between;
// otherwise it reads again.
func ringView(r *ring.Ring) api.Ring {
	for {
		if out, ok := readRing(r); ok {
			return out
		}
	}
}

// readRing reads r once; false if r changed while it read.
func readRing(r *ring.Ring) (api.Ring, bool) {
	v := r.Version()
	ms := r.Members()
	out := api.Ring{Version: v, Partitions: r.PartitionCount(), Hash: api.HashXXHash64,
		Members: make([]api.RingMember, len(ms)), Owners: []int{}}
	index := make(map[string]int, len(ms))
	for i, m := range ms {
		out.Members[i] = api.RingMember{Name: m.Name, HTTPAddr: m.Addr, Epoch: m.Epoch}
		index[m.Name] = i
	}
	if len(ms) > 0 {
		out.Owners = make([]int, out.Partitions)
		for p := range out.Owners {
			m, ok := r.PartitionOwner(p)
			i, known := index[m.Name]
			if !ok || !known {
				return api.Ring{}, false
			}
			out.Owners[p] = i
		}
	}
	return out, r.Version() == v
}

// ring handles GET /v1/cluster/ring.
func (d *Door) ring(w http.ResponseWriter, r *http.Request) {
	gate.WriteJSON(w, http.StatusOK, ringView(d.core.Ring()))
}
