package consul

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"github.com/roster-io/roster/door/gate"
	"github.com/roster-io/roster/internal/param"
	"github.com/roster-io/roster/store"
)

// healthService handles GET /v1/health/service/<name>: one entry per
// instance with its node, service and checks; passing keeps the healthy,
// enabled ones.
func (d *Door) healthService(w http.ResponseWriter, r *http.Request) {
	snap, q, ok := d.serviceSnapshot(w, r)
	if !ok {
		return
	}
	key := "consul|health|" + strconv.FormatBool(q.passing) + "|" + strings.Join(q.tags, "\x00")
	body := snap.Cached(key, func() []byte {
		out := []serviceEntry{}
		for _, in := range snap.Instances {
			if q.passing && (!in.Healthy || !in.Enabled) {
				continue
			}
			if e := d.entry(snap, in); hasTags(e.Service.Tags, q.tags) {
				out = append(out, e)
			}
		}
		b, _ := json.Marshal(out)
		return b
	})
	d.setMeta(w, snap.Index)
	gate.WriteJSONBytes(w, http.StatusOK, body)
}

// entry is the health entry of instance in: its host as the node, and
// three kinds of check — the node's (always passing: roster runs no agent
// there), the instance's health, and, for a disabled instance, Consul's
// maintenance check, critical.
func (d *Door) entry(snap *store.Snapshot, in *store.Instance) serviceEntry {
	id, name, tags := in.ID(snap.Key), snap.Key.Service, tagsOf(in)
	wt := consulWeight(in.Weight)
	e := serviceEntry{
		Node: catalogNode{Node: in.IP, Address: in.IP, Datacenter: d.cfg.Datacenter, TaggedAddresses: map[string]string{"lan": in.IP},
			Meta: map[string]string{}, CreateIndex: snap.Index, ModifyIndex: snap.Index},
		Service: agentService{ID: id, Service: name, Tags: tags, Meta: meta(in), Port: in.Port, Address: in.IP,
			Weights: weights{Passing: wt, Warning: wt}, CreateIndex: snap.Index, ModifyIndex: snap.Index, Datacenter: d.cfg.Datacenter},
	}
	check := func(c healthCheck) healthCheck {
		c.Node, c.CreateIndex, c.ModifyIndex = in.IP, snap.Index, snap.Index
		return c
	}
	e.Checks = append(e.Checks, check(healthCheck{CheckID: "serfHealth", Name: "Serf Health Status", Status: statusPassing,
		Output: "roster runs no agent on instance hosts; this check always passes", ServiceTags: []string{}}))
	health := healthCheck{CheckID: "service:" + id, Name: "Service '" + name + "' check", Status: statusPassing,
		Output: "healthy in roster", ServiceID: id, ServiceName: name, ServiceTags: tags}
	if in.Ephemeral {
		health.Type = "ttl" // kept alive by the client's heartbeats
	}
	if !in.Healthy {
		health.Status, health.Output = statusCritical, "unhealthy in roster"
		if in.Ephemeral {
			health.Output = "unhealthy in roster: no heartbeat within its beat timeout"
		}
	}
	e.Checks = append(e.Checks, check(health))
	if !in.Enabled {
		e.Checks = append(e.Checks, check(healthCheck{CheckID: "_service_maintenance:" + id, Name: "Service Maintenance Mode",
			Status: statusCritical, Notes: "disabled in roster", ServiceID: id, ServiceName: name, ServiceTags: tags}))
	}
	return e
}

// agentSelf handles GET /v1/agent/self: the few fields tools read
// (Prometheus takes the datacenter from Config.Datacenter).
func (d *Door) agentSelf(w http.ResponseWriter, r *http.Request) {
	host, port := splitAddr(d.cfg.Addr())
	name := d.core.Name()
	gate.WriteJSON(w, http.StatusOK, map[string]any{
		"Config": map[string]any{"Datacenter": d.cfg.Datacenter, "PrimaryDatacenter": d.cfg.Datacenter, "NodeName": name,
			"NodeID": "", "Server": true, "Revision": "", "Version": "roster"},
		"Member": map[string]any{"Name": name, "Addr": host, "Port": port, "Status": 1,
			"Tags": map[string]string{"dc": d.cfg.Datacenter, "role": "roster"}},
		"Meta": map[string]string{},
	})
}

// leader handles GET /v1/status/leader. roster has no leader: every node
// answers reads, so a synced node names itself, and one that syncs names
// none ("").
func (d *Door) leader(w http.ResponseWriter, r *http.Request) {
	addr := ""
	if d.core.Synced() {
		addr = d.cfg.Addr()
	}
	gate.WriteJSON(w, http.StatusOK, addr)
}

// peers handles GET /v1/status/peers: the HTTP addresses of the ready
// members.
func (d *Door) peers(w http.ResponseWriter, r *http.Request) {
	out := []string{}
	for _, m := range d.core.Members() {
		if m.Ready && m.HTTPAddr != "" {
			out = append(out, m.HTTPAddr)
		}
	}
	gate.WriteJSON(w, http.StatusOK, out)
}

// splitAddr splits host:port, with port 0 when there is none.
func splitAddr(a string) (string, int) {
	ap, err := netip.ParseAddrPort(a)
	if err != nil {
		return a, 0
	}
	return ap.Addr().String(), int(ap.Port())
}

// healthChecks handles GET /v1/health/checks/<name>: the checks of every
// instance of the service (see entry).
func (d *Door) healthChecks(w http.ResponseWriter, r *http.Request) {
	snap, _, ok := d.serviceSnapshot(w, r)
	if !ok {
		return
	}
	body := snap.Cached("consul|checks", func() []byte {
		out := []healthCheck{}
		for _, in := range snap.Instances {
			out = append(out, d.entry(snap, in).Checks...)
		}
		b, _ := json.Marshal(out)
		return b
	})
	d.setMeta(w, snap.Index)
	gate.WriteJSONBytes(w, http.StatusOK, body)
}

// healthState handles GET /v1/health/state/<state>: the checks in that
// state (any, passing, warning or critical) of every instance of the
// group and namespace. Traefik's Consul catalog provider watches
// /v1/health/state/any to learn of health changes.
func (d *Door) healthState(w http.ResponseWriter, r *http.Request) {
	state := r.PathValue("state")
	switch state {
	case "any", statusPassing, "warning", statusCritical:
	default:
		writeError(w, &param.FieldError{Field: "state", Reason: "must be any, passing, warning or critical"})
		return
	}
	q, ok := d.globalQuery(w, r)
	if !ok {
		return
	}
	body := d.lists.get("state\x00"+state+"\x00"+q.namespace+"\x00"+q.group, q.index, func() []byte {
		out := []healthCheck{}
		for _, s := range d.core.Services(q.namespace, q.group) {
			snap := d.core.Snapshot(s.Key)
			for _, in := range snap.Instances {
				for _, c := range d.entry(snap, in).Checks {
					if state == "any" || c.Status == state {
						out = append(out, c)
					}
				}
			}
		}
		b, _ := json.Marshal(out)
		return b
	})
	d.setMeta(w, q.index)
	gate.WriteJSONBytes(w, http.StatusOK, body)
}
