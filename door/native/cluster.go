package native

import (
	"net/http"
	"strings"

	"github.com/roster-io/roster/api"
	"github.com/roster-io/roster/door/gate"
)

// Operator endpoints: /v1/cluster/members, /v1/cluster/owner and
// /v1/cluster/ring show the membership and the ring. They answer even
// while the node syncs.

// members handles GET /v1/cluster/members.
func (d *Door) members(w http.ResponseWriter, r *http.Request) {
	services := d.core.ServicesByOwner()
	out := api.Members{Self: d.core.Name(), Ring: ringInfo(d.core.Ring())}
	for _, m := range d.core.Members() {
		state := api.StateSyncing
		if m.Ready {
			state = api.StateAlive
		}
		if m.Self {
			state = d.core.State()
		}
		conns, bound := d.core.Store().BoundTo(m.Name)
		out.Members = append(out.Members, api.Member{Name: m.Name, HTTPAddr: m.HTTPAddr, GossipAddr: m.GossipAddr, State: state,
			Epoch: m.Epoch, Partitions: d.core.OwnedPartitions(m.Name), Services: services[m.Name],
			Connections: conns, ConnInstances: bound, Self: m.Self})
	}
	gate.WriteJSON(w, http.StatusOK, out)
}

// owner handles GET /v1/cluster/owner?service=S&group=G&namespace=N.
func (d *Door) owner(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	group, service := q.Get("group"), q.Get("service")
	if g, s, ok := strings.Cut(service, "@@"); ok && group == "" {
		group, service = g, s
	}
	k, err := nativeKey(q.Get("namespace"), group, service)
	if err != nil {
		gate.JSONError(w, err)
		return
	}
	out := api.Owner{Namespace: k.Namespace, Group: k.Group, Service: k.Service,
		Key: k.String(), Partition: d.core.Partition(k), Owner: d.core.Name()}
	if d.core.Clustered() {
		m, ok := d.core.Owner(k)
		out.Owner, out.OwnerAddr = m.Name, m.HTTPAddr
		if !ok {
			out.Owner, out.OwnerAddr = "", ""
		}
	}
	gate.WriteJSON(w, http.StatusOK, out)
}
