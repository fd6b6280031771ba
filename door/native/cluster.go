package native

import (
	"net/http"
	"strings"

	"github.com/roster-io/roster/door/gate"
)

// Operator endpoints: /v1/cluster/members and /v1/cluster/owner show the
// membership and the ring. They answer even while the node syncs.

// memberJSON is one entry of /v1/cluster/members.
type memberJSON struct {
	Name       string `json:"name"`
	HTTPAddr   string `json:"httpAddr"`
	GossipAddr string `json:"gossipAddr"`
	State      string `json:"state"`
	Epoch      int64  `json:"epoch"`
	Partitions int    `json:"partitions"`
	Services   int    `json:"services"`
	Self       bool   `json:"self,omitempty"`
}

// members handles GET /v1/cluster/members.
func (d *Door) members(w http.ResponseWriter, r *http.Request) {
	services := d.core.ServicesByOwner()
	var out []memberJSON
	for _, m := range d.core.Members() {
		state := "syncing"
		if m.Ready {
			state = "alive"
		}
		if m.Self {
			state = d.core.State()
		}
		out = append(out, memberJSON{Name: m.Name, HTTPAddr: m.HTTPAddr, GossipAddr: m.GossipAddr, State: state,
			Epoch: m.Epoch, Partitions: d.core.OwnedPartitions(m.Name), Services: services[m.Name], Self: m.Self})
	}
	gate.WriteJSON(w, http.StatusOK, map[string]any{"self": d.core.Name(), "members": out})
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
	out := map[string]any{"namespace": k.Namespace, "group": k.Group, "service": k.Service,
		"key": k.String(), "partition": d.core.Partition(k), "owner": d.core.Name()}
	if d.core.Clustered() {
		m, ok := d.core.Owner(k)
		if !ok {
			out["owner"] = ""
		} else {
			out["owner"], out["ownerAddr"] = m.Name, m.HTTPAddr
		}
	}
	gate.WriteJSON(w, http.StatusOK, out)
}
