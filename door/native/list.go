package native

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/roster-io/roster/api"
	"github.com/roster-io/roster/door/gate"
	"github.com/roster-io/roster/internal/param"
	"github.com/roster-io/roster/store"
)

// GET /v1/instances with blocking queries: with ?index=N the request waits
// until the service's change index passes N (or wait elapses, capped by
// Config.MaxWait; node.WaitChange adds up to 1/16 jitter so watchers do
// not return in lockstep), then answers the list and its index in
// X-Roster-Index.

// defaultWait is the wait of a blocking query that names no wait.
const defaultWait = 30 * time.Second

// list handles GET /v1/instances.
func (d *Door) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	k, err := nativeKey(q.Get("namespace"), q.Get("group"), q.Get("service"))
	if err == nil {
		err = d.allow(r, gate.Read, k)
	}
	if err != nil {
		gate.JSONError(w, err)
		return
	}
	cluster := q.Get("cluster")
	if cluster != "" {
		if cluster, err = param.Name("cluster", cluster); err != nil {
			gate.JSONError(w, err)
			return
		}
	}
	healthyOnly, err := param.Bool("healthyOnly", q.Get("healthyOnly"), false)
	if err != nil {
		gate.JSONError(w, err)
		return
	}
	index, wait, err := d.blockingParams(q)
	if err != nil {
		gate.JSONError(w, err)
		return
	}
	snap := d.core.Snapshot(k)
	if index > 0 {
		if err := d.gate.Waiting(func() { snap = d.core.WaitChange(r.Context(), k, index, wait) }); err != nil {
			gate.JSONError(w, err)
			return
		}
	}
	body := snap.Cached("native|"+strconv.FormatBool(healthyOnly)+"|"+cluster, func() []byte {
		return encodeNativeList(snap, cluster, healthyOnly)
	})
	w.Header().Set(api.IndexHeader, strconv.FormatUint(snap.Index, 10))
	gate.WriteJSONBytes(w, http.StatusOK, body)
}

// encodeNativeList renders a snapshot for the native API. Unlike Nacos'
// list it shows every instance as it is (no protect threshold) unless
// healthyOnly asks for the healthy, enabled ones.
func encodeNativeList(snap *store.Snapshot, cluster string, healthyOnly bool) []byte {
	out := api.List{Namespace: snap.Key.Namespace, Group: snap.Key.Group, Service: snap.Key.Service,
		Index: snap.Index, Instances: []api.Instance{}}
	for _, in := range snap.Instances {
		if (cluster != "" && in.Cluster != cluster) || (healthyOnly && (!in.Healthy || !in.Enabled)) {
			continue
		}
		out.Instances = append(out.Instances, toJSON(snap.Key, in))
	}
	b, _ := json.Marshal(out)
	return b
}

// services handles GET /v1/services.
func (d *Door) services(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ns, err := nativeNamespace(q.Get("namespace"))
	if err != nil {
		gate.JSONError(w, err)
		return
	}
	group := q.Get("group")
	if group != "" {
		if group, err = param.Name("group", group); err != nil {
			gate.JSONError(w, err)
			return
		}
	}
	index, wait, err := d.blockingParams(q)
	if err == nil {
		err = d.gate.Check(r, "", gate.Read, gate.Resource{Namespace: ns, Group: group})
	}
	if err == nil {
		index, err = d.waitServices(r.Context(), index, wait)
	}
	if err != nil {
		gate.JSONError(w, err)
		return
	}
	list := d.core.Services(ns, group)
	out := make([]api.ServiceSummary, 0, len(list))
	for _, s := range list {
		out = append(out, api.ServiceSummary{Group: s.Key.Group, Service: s.Key.Service, Instances: s.Instances, Healthy: s.Healthy})
	}
	w.Header().Set(api.IndexHeader, strconv.FormatUint(index, 10))
	gate.WriteJSON(w, http.StatusOK, api.Services{Namespace: ns, Index: index, Services: out})
}

// blockingParams reads the index and wait of a blocking query.
func (d *Door) blockingParams(q url.Values) (uint64, time.Duration, error) {
	index, err := strconv.ParseUint(q.Get("index"), 10, 64)
	if q.Get("index") == "" {
		index, err = 0, nil
	}
	if err != nil {
		return 0, 0, &param.FieldError{Field: "index", Reason: "not a non-negative integer"}
	}
	wait, err := param.Duration("wait", q.Get("wait"), defaultWait, d.cfg.MaxWait)
	return index, wait, err
}

// msDuration converts milliseconds to a duration.
func msDuration(ms int64) time.Duration { return time.Duration(ms) * time.Millisecond }
