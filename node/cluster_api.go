package node

import (
	"net/http"
	"strings"
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

// clusterMembers handles GET /v1/cluster/members.
func (n *Node) clusterMembers(w http.ResponseWriter, r *http.Request) {
	services := map[string]int{}
	for _, s := range n.store.AllServices() {
		if m, ok := n.ring.Owner(s.String()); ok {
			services[m.Name]++
		}
	}
	var out []memberJSON
	if n.gossip == nil {
		out = append(out, memberJSON{Name: n.cfg.Name, HTTPAddr: n.Addr(), State: n.stateOf(true), Epoch: n.epoch,
			Partitions: n.ring.PartitionCount(), Services: len(n.store.AllServices()), Self: true})
	}
	for _, m := range n.cluster.memberList() {
		state := "syncing"
		if m.Ready {
			state = "alive"
		}
		if m.Self {
			state = n.stateOf(m.Ready)
		}
		out = append(out, memberJSON{Name: m.Name, HTTPAddr: m.HTTPAddr, GossipAddr: m.GossipAddr, State: state,
			Epoch: m.Epoch, Partitions: len(n.ring.Owned(m.Name)), Services: services[m.Name], Self: m.Self})
	}
	writeJSON(w, http.StatusOK, map[string]any{"self": n.cfg.Name, "members": out, "ring": ringInfo(n.ring)})
}

// stateOf describes this node's own state.
func (n *Node) stateOf(ready bool) string {
	switch {
	case n.closing.Load():
		return "leaving"
	case !ready:
		return "syncing"
	}
	return "alive"
}

// clusterOwner handles GET /v1/cluster/owner?service=S&group=G&namespace=N.
func (n *Node) clusterOwner(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	group, service := q.Get("group"), q.Get("service")
	if g, s, ok := strings.Cut(service, "@@"); ok && group == "" {
		group, service = g, s
	}
	k, err := nativeKey(q.Get("namespace"), group, service)
	if err != nil {
		jsonError(w, err)
		return
	}
	out := map[string]any{"namespace": k.Namespace, "group": k.Group, "service": k.Service,
		"key": k.String(), "partition": n.ring.Partition(k.String()), "owner": n.cfg.Name}
	if n.gossip != nil {
		m, ok := n.ring.Owner(k.String())
		if !ok {
			out["owner"] = ""
		} else {
			out["owner"], out["ownerAddr"] = m.Name, m.Addr
		}
	}
	writeJSON(w, http.StatusOK, out)
}
