package node

import (
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/roster-io/roster/internal/param"
	"github.com/roster-io/roster/store"
)

// GET /v1/instances with blocking queries: with ?index=N the request waits
// until the service's change index passes N (or wait elapses, capped by
// Config.MaxWait, plus up to 1/16 jitter so watchers do not return in
// lockstep), then answers the list and its index in X-Roster-Index.

// IndexHeader carries the change index of a native list answer.
const IndexHeader = "X-Roster-Index"

// defaultWait is the wait of a blocking query that names no wait.
const defaultWait = 30 * time.Second

// nativeListBody is the body of GET /v1/instances.
type nativeListBody struct {
	Namespace string         `json:"namespace"`
	Group     string         `json:"group"`
	Service   string         `json:"service"`
	Index     uint64         `json:"index"`
	Instances []instanceJSON `json:"instances"`
}

// nativeList handles GET /v1/instances.
func (n *Node) nativeList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	k, err := nativeKey(q.Get("namespace"), q.Get("group"), q.Get("service"))
	if err != nil {
		jsonError(w, err)
		return
	}
	cluster := q.Get("cluster")
	if cluster != "" {
		if cluster, err = param.Name("cluster", cluster); err != nil {
			jsonError(w, err)
			return
		}
	}
	healthyOnly, err := param.Bool("healthyOnly", q.Get("healthyOnly"), false)
	if err != nil {
		jsonError(w, err)
		return
	}
	index, err := strconv.ParseUint(q.Get("index"), 10, 64)
	if q.Get("index") == "" {
		index, err = 0, nil
	}
	if err != nil {
		jsonError(w, &param.FieldError{Field: "index", Reason: "not a non-negative integer"})
		return
	}
	wait, err := param.Duration("wait", q.Get("wait"), defaultWait, n.cfg.MaxWait)
	if err != nil {
		jsonError(w, err)
		return
	}
	snap := n.store.Snapshot(k)
	if index > 0 {
		snap = n.blockingWait(r, k, snap, index, wait)
	}
	body := snap.Cached("native|"+strconv.FormatBool(healthyOnly)+"|"+cluster, func() []byte {
		return encodeNativeList(snap, cluster, healthyOnly)
	})
	w.Header().Set(IndexHeader, strconv.FormatUint(snap.Index, 10))
	writeJSONBytes(w, http.StatusOK, body)
}

// waitChange blocks until service k's index passes index, wait elapses,
// the client goes away or the node stops, and returns the latest snapshot.
// Changes elsewhere wake a watcher of a service that does not exist yet;
// it goes back to waiting until the service appears.
func (n *Node) waitChange(r *http.Request, k store.Key, snap *store.Snapshot, index uint64, wait time.Duration) *store.Snapshot {
	if wait > 0 {
		wait += rand.N(wait/16 + 1)
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for !snap.Tracked || snap.Index <= index {
		select {
		case <-snap.Changed():
			snap = n.store.Snapshot(k)
		case <-timer.C:
			return n.store.Snapshot(k)
		case <-r.Context().Done():
			return snap
		case <-n.waits.Done():
			return snap
		}
	}
	return snap
}

// encodeNativeList renders a snapshot for the native API. Unlike Nacos'
// list it shows every instance as it is (no protect threshold) unless
// healthyOnly asks for the healthy, enabled ones.
func encodeNativeList(snap *store.Snapshot, cluster string, healthyOnly bool) []byte {
	out := nativeListBody{Namespace: snap.Key.Namespace, Group: snap.Key.Group, Service: snap.Key.Service,
		Index: snap.Index, Instances: []instanceJSON{}}
	for _, in := range snap.Instances {
		if (cluster != "" && in.Cluster != cluster) || (healthyOnly && (!in.Healthy || !in.Enabled)) {
			continue
		}
		out.Instances = append(out.Instances, toJSON(snap.Key, in))
	}
	b, _ := json.Marshal(out)
	return b
}

// serviceJSON is one entry of GET /v1/services.
type serviceJSON struct {
	Group     string `json:"group"`
	Service   string `json:"service"`
	Instances int    `json:"instances"`
	Healthy   int    `json:"healthy"`
}

// nativeServices handles GET /v1/services.
func (n *Node) nativeServices(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ns, err := param.OptionalName("namespace", q.Get("namespace"), store.DefaultNamespace)
	if err != nil {
		jsonError(w, err)
		return
	}
	group := q.Get("group")
	if group != "" {
		if group, err = param.Name("group", group); err != nil {
			jsonError(w, err)
			return
		}
	}
	index := n.store.Index()
	list := n.store.Services(ns, group)
	out := make([]serviceJSON, 0, len(list))
	for _, s := range list {
		out = append(out, serviceJSON{Group: s.Key.Group, Service: s.Key.Service, Instances: s.Instances, Healthy: s.Healthy})
	}
	w.Header().Set(IndexHeader, strconv.FormatUint(index, 10))
	writeJSON(w, http.StatusOK, map[string]any{"namespace": ns, "index": index, "services": out})
}

// msDuration converts milliseconds to a duration.
func msDuration(ms int64) time.Duration { return time.Duration(ms) * time.Millisecond }
