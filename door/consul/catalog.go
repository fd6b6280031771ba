package consul

import (
	"encoding/json"
	"math"
	"net/http"
	"slices"
	"strings"

	"github.com/roster-io/roster/door/gate"
	"github.com/roster-io/roster/internal/param"
	"github.com/roster-io/roster/store"
)

// How roster's instances read as Consul's (docs/consul-api.md):
// an instance is a service instance on a node named by its host (IP or
// hostname), its ID is Nacos' instance id, its metadata is the service
// meta, its tags are "cluster=<cluster>" and the comma-separated entries
// of its "tags" metadata key, and its weight is rounded (at least 1 for a
// positive weight).

// tagsMetaKey is the metadata key whose comma-separated entries become
// Consul tags.
const tagsMetaKey = "tags"

// tagsOf returns the Consul tags of an instance.
func tagsOf(in *store.Instance) []string {
	tags := []string{"cluster=" + in.Cluster}
	for _, t := range strings.Split(in.Metadata[tagsMetaKey], ",") {
		if t = strings.TrimSpace(t); t != "" && !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	return tags
}

// hasTags reports whether tags holds every one of want.
func hasTags(tags, want []string) bool {
	for _, w := range want {
		if !slices.Contains(tags, w) {
			return false
		}
	}
	return true
}

// consulWeight maps a roster weight (0–10000) to a Consul weight.
func consulWeight(w float64) int {
	if w <= 0 {
		return 0
	}
	return max(1, int(math.Round(w)))
}

// meta returns the instance's metadata as Consul service meta (never nil).
func meta(in *store.Instance) map[string]string {
	if in.Metadata == nil {
		return map[string]string{}
	}
	return in.Metadata
}

// serviceKey reads the service of a path: name in the query's group and
// namespace, or group@@name (Nacos' grouped name) in the query's
// namespace.
func serviceKey(r *http.Request, q query) (store.Key, error) {
	group, svc, err := param.ServiceName(r.PathValue("name"), q.group)
	if err != nil {
		return store.Key{}, err
	}
	return store.Key{Namespace: q.namespace, Group: group, Service: svc}, nil
}

// serviceSnapshot answers a service read's blocking query: the service's
// snapshot once its index passes q.index (at once without an index).
func (d *Door) serviceSnapshot(w http.ResponseWriter, r *http.Request) (*store.Snapshot, query, bool) {
	q, err := d.parseQuery(r)
	if err != nil {
		writeError(w, err)
		return nil, q, false
	}
	k, err := serviceKey(r, q)
	if err != nil {
		writeError(w, err)
		return nil, q, false
	}
	snap := d.core.Snapshot(k)
	if q.blocking {
		if err := d.gate.Waiting(func() { snap = d.core.WaitChange(r.Context(), k, q.index, q.wait) }); err != nil {
			writeError(w, err)
			return nil, q, false
		}
	}
	return snap, q, true
}

// catalogService handles GET /v1/catalog/service/<name>.
func (d *Door) catalogService(w http.ResponseWriter, r *http.Request) {
	snap, q, ok := d.serviceSnapshot(w, r)
	if !ok {
		return
	}
	body := snap.Cached("consul|catalog|"+strings.Join(q.tags, "\x00"), func() []byte {
		out := []catalogService{}
		for _, in := range snap.Instances {
			tags := tagsOf(in)
			if !hasTags(tags, q.tags) {
				continue
			}
			wt := consulWeight(in.Weight)
			out = append(out, catalogService{
				Node: in.IP, Address: in.IP, Datacenter: d.cfg.Datacenter,
				TaggedAddresses: map[string]string{"lan": in.IP}, NodeMeta: map[string]string{},
				ServiceID: in.ID(snap.Key), ServiceName: snap.Key.Service, ServiceAddress: in.IP,
				ServiceTags: tags, ServiceMeta: meta(in), ServicePort: in.Port,
				ServiceWeights: weights{Passing: wt, Warning: wt}, CreateIndex: snap.Index, ModifyIndex: snap.Index,
			})
		}
		b, _ := json.Marshal(out)
		return b
	})
	d.setMeta(w, snap.Index)
	gate.WriteJSONBytes(w, http.StatusOK, body)
}

// services handles GET /v1/catalog/services: every service of the group
// and namespace with the union of its instances' tags.
func (d *Door) services(w http.ResponseWriter, r *http.Request) {
	q, ok := d.globalQuery(w, r)
	if !ok {
		return
	}
	key := "services\x00" + q.namespace + "\x00" + q.group + "\x00" + strings.Join(q.tags, "\x00")
	body := d.lists.get(key, q.index, func() []byte {
		out := map[string][]string{}
		for _, s := range d.core.Services(q.namespace, q.group) {
			tags := []string{}
			for _, in := range d.core.Snapshot(s.Key).Instances {
				for _, t := range tagsOf(in) {
					if !slices.Contains(tags, t) {
						tags = append(tags, t)
					}
				}
			}
			slices.Sort(tags)
			if hasTags(tags, q.tags) {
				out[s.Key.Service] = tags
			}
		}
		b, _ := json.Marshal(out)
		return b
	})
	d.setMeta(w, q.index)
	gate.WriteJSONBytes(w, http.StatusOK, body)
}

// nodes handles GET /v1/catalog/nodes: every host with an instance in the
// namespace, sorted.
func (d *Door) nodes(w http.ResponseWriter, r *http.Request) {
	q, ok := d.globalQuery(w, r)
	if !ok {
		return
	}
	body := d.lists.get("nodes\x00"+q.namespace, q.index, func() []byte {
		hosts := map[string]bool{}
		for _, s := range d.core.Services(q.namespace, "") {
			for _, in := range d.core.Snapshot(s.Key).Instances {
				hosts[in.IP] = true
			}
		}
		out := make([]catalogNode, 0, len(hosts))
		for h := range hosts {
			out = append(out, catalogNode{Node: h, Address: h, Datacenter: d.cfg.Datacenter,
				TaggedAddresses: map[string]string{"lan": h}, Meta: map[string]string{}, CreateIndex: q.index, ModifyIndex: q.index})
		}
		slices.SortFunc(out, func(a, b catalogNode) int { return strings.Compare(a.Node, b.Node) })
		b, _ := json.Marshal(out)
		return b
	})
	d.setMeta(w, q.index)
	gate.WriteJSONBytes(w, http.StatusOK, body)
}

// globalQuery answers a whole-registry read's blocking query: it waits
// until the registry's index passes q.index and returns the query with
// the index then in q.index.
func (d *Door) globalQuery(w http.ResponseWriter, r *http.Request) (query, bool) {
	q, err := d.parseQuery(r)
	if err != nil {
		writeError(w, err)
		return q, false
	}
	index := d.core.Index()
	if q.blocking {
		if err := d.gate.Waiting(func() { index = d.core.WaitIndex(r.Context(), q.index, q.wait) }); err != nil {
			writeError(w, err)
			return q, false
		}
	}
	q.index = index
	return q, true
}

// datacenters handles GET /v1/catalog/datacenters.
func (d *Door) datacenters(w http.ResponseWriter, r *http.Request) {
	gate.WriteJSON(w, http.StatusOK, []string{d.cfg.Datacenter})
}
