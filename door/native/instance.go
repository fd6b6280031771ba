package native

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/roster-io/roster/api"
	"github.com/roster-io/roster/door/gate"
	"github.com/roster-io/roster/internal/param"
	"github.com/roster-io/roster/store"
)

// instanceJSON is the native representation of an instance.
type instanceJSON = api.Instance

// toJSON renders a stored instance.
func toJSON(k store.Key, in *store.Instance) instanceJSON {
	w, h, e, eph := in.Weight, in.Healthy, in.Enabled, in.Ephemeral
	return instanceJSON{
		Namespace: k.Namespace, Group: k.Group, Service: k.Service, Cluster: in.Cluster,
		IP: in.IP, Port: in.Port, InstanceID: in.ID(k), Weight: &w, Healthy: &h, Enabled: &e,
		Ephemeral: &eph, Metadata: nonNil(in.Metadata), BeatIntervalMs: in.BeatInterval.Milliseconds(),
		BeatTimeoutMs: in.BeatTimeout.Milliseconds(), DeleteTimeoutMs: in.DeleteTimeout.Milliseconds(),
	}
}

// nativeKey validates the service key fields.
func nativeKey(namespace, group, service string) (store.Key, error) {
	ns, err := nativeNamespace(namespace)
	if err != nil {
		return store.Key{}, err
	}
	g, err := param.OptionalName("group", group, store.DefaultGroup)
	if err != nil {
		return store.Key{}, err
	}
	s, err := param.Name("service", service)
	if err != nil {
		return store.Key{}, err
	}
	return store.Key{Namespace: ns, Group: g, Service: s}, nil
}

// nativeNamespace validates a namespace parameter (default public). The
// reserved namespace, which holds the cluster's own records (users among
// them), is refused as in the Nacos API.
func nativeNamespace(v string) (string, error) {
	ns, err := param.OptionalName("namespace", v, store.DefaultNamespace)
	if err == nil && ns == gate.SystemNamespace {
		err = &param.FieldError{Field: "namespace", Reason: "namespace " + gate.SystemNamespace + " is reserved"}
	}
	return ns, err
}

// nativeInstanceKey validates the fields naming one instance.
func nativeInstanceKey(j *instanceJSON) (store.Key, store.InstanceKey, error) {
	k, err := nativeKey(j.Namespace, j.Group, j.Service)
	if err != nil {
		return k, store.InstanceKey{}, err
	}
	cluster, err := param.OptionalName("cluster", j.Cluster, store.DefaultCluster)
	if err != nil {
		return k, store.InstanceKey{}, err
	}
	ip, err := param.IP("ip", j.IP)
	if err != nil {
		return k, store.InstanceKey{}, err
	}
	port, err := param.Port("port", strconv.Itoa(j.Port))
	if err != nil {
		return k, store.InstanceKey{}, err
	}
	return k, store.InstanceKey{Cluster: cluster, IP: ip, Port: port}, nil
}

// nativeInstance validates a whole instance for registration.
func nativeInstance(j *instanceJSON) (store.Key, store.Instance, error) {
	k, ik, err := nativeInstanceKey(j)
	if err != nil {
		return k, store.Instance{}, err
	}
	in := store.Instance{InstanceKey: ik, Weight: 1, Healthy: true, Enabled: true, Ephemeral: true}
	if j.Weight != nil {
		if in.Weight, err = param.Weight("weight", strconv.FormatFloat(*j.Weight, 'g', -1, 64), 1); err != nil {
			return k, in, err
		}
	}
	if j.Enabled != nil {
		in.Enabled = *j.Enabled
	}
	if j.Ephemeral != nil {
		in.Ephemeral = *j.Ephemeral
	}
	if in.Metadata, err = param.CheckedMetadata("metadata", j.Metadata); err != nil {
		return k, in, err
	}
	if err := applyTimings(&in); err != nil {
		return k, in, err
	}
	maxMs := param.MaxBeatTiming.Milliseconds()
	for field, ms := range map[string]int64{"beatIntervalMs": j.BeatIntervalMs, "beatTimeoutMs": j.BeatTimeoutMs, "deleteTimeoutMs": j.DeleteTimeoutMs} {
		if ms < 0 || ms > maxMs {
			return k, in, &param.FieldError{Field: field, Reason: fmt.Sprintf("must be between 1 and %d", maxMs)}
		}
	}
	if j.BeatIntervalMs > 0 {
		in.BeatInterval = msDuration(j.BeatIntervalMs)
	}
	if j.BeatTimeoutMs > 0 {
		in.BeatTimeout = msDuration(j.BeatTimeoutMs)
	}
	if j.DeleteTimeoutMs > 0 {
		in.DeleteTimeout = msDuration(j.DeleteTimeoutMs)
	}
	return k, in, nil
}

// register handles POST /v1/instance.
func (d *Door) register(w http.ResponseWriter, r *http.Request) {
	var j instanceJSON
	if err := gate.DecodeJSON(r, &j, d.cfg.MaxBodyBytes); err != nil {
		gate.JSONError(w, err)
		return
	}
	k, in, err := nativeInstance(&j)
	if err == nil {
		err = d.allow(r, gate.Write, k)
	}
	if err == nil {
		in, err = d.core.Register(r.Context(), k, in)
	}
	if err != nil {
		gate.JSONError(w, err)
		return
	}
	gate.WriteJSON(w, http.StatusOK, map[string]any{"instance": toJSON(k, &in), "index": d.core.Index()})
}

// queryInstanceKey reads an instance key from the query string.
func queryInstanceKey(r *http.Request) (store.Key, store.InstanceKey, error) {
	q := r.URL.Query()
	port := q.Get("port")
	if port == "" {
		return store.Key{}, store.InstanceKey{}, &param.FieldError{Field: "port", Reason: param.ReasonMissing}
	}
	p, err := param.Port("port", port)
	if err != nil {
		return store.Key{}, store.InstanceKey{}, err
	}
	j := instanceJSON{Namespace: q.Get("namespace"), Group: q.Get("group"), Service: q.Get("service"),
		Cluster: q.Get("cluster"), IP: q.Get("ip"), Port: p}
	return nativeInstanceKey(&j)
}

// deregister handles DELETE /v1/instance. Deletion is idempotent:
// when this node holds no such live instance it still records the
// deletion (the registration may be in flight from a peer) and answers
// 200 with "found": false.
func (d *Door) deregister(w http.ResponseWriter, r *http.Request) {
	k, ik, err := queryInstanceKey(r)
	if err == nil {
		err = d.allow(r, gate.Write, k)
	}
	if err != nil {
		gate.JSONError(w, err)
		return
	}
	found := true
	if err := d.core.Deregister(r.Context(), k, ik); errors.Is(err, store.ErrNotFound) {
		found = false
	} else if err != nil {
		gate.JSONError(w, err)
		return
	}
	gate.WriteJSON(w, http.StatusOK, map[string]any{"index": d.core.Index(), "found": found})
}

// get handles GET /v1/instance.
func (d *Door) get(w http.ResponseWriter, r *http.Request) {
	k, ik, err := queryInstanceKey(r)
	if err == nil {
		err = d.allow(r, gate.Read, k)
	}
	if err != nil {
		gate.JSONError(w, err)
		return
	}
	in, ok := d.core.Snapshot(k).Find(ik)
	if !ok {
		gate.JSONError(w, fmt.Errorf("instance %s:%d not found in cluster %s of %s: %w", ik.IP, ik.Port, ik.Cluster, k.Grouped(), store.ErrNotFound))
		return
	}
	gate.WriteJSON(w, http.StatusOK, toJSON(k, &in))
}

// nativeBeatBody is the body of PUT /v1/instance/beat.
type nativeBeatBody struct {
	instanceJSON
	Instance *instanceJSON `json:"instance"`
}

// beat handles PUT /v1/instance/beat.
func (d *Door) beat(w http.ResponseWriter, r *http.Request) {
	var b nativeBeatBody
	if err := gate.DecodeJSON(r, &b, d.cfg.MaxBodyBytes); err != nil {
		gate.JSONError(w, err)
		return
	}
	k, ik, err := nativeInstanceKey(&b.instanceJSON)
	if err == nil {
		err = d.allow(r, gate.Write, k)
	}
	if err != nil {
		gate.JSONError(w, err)
		return
	}
	var rereg *store.Instance
	if b.Instance != nil {
		rk, in, err := nativeInstance(b.Instance)
		if err != nil {
			gate.JSONError(w, prefixField("instance.", err))
			return
		}
		if rk != k || in.InstanceKey != ik {
			gate.JSONError(w, &param.FieldError{Field: "instance", Reason: "names a different instance than the beat"})
			return
		}
		rereg = &in
	}
	interval, found, err := d.core.Beat(r.Context(), k, ik, rereg)
	if err != nil {
		gate.JSONError(w, err)
		return
	}
	if !found {
		gate.JSONError(w, fmt.Errorf("instance %s:%d in cluster %s of %s: %w", ik.IP, ik.Port, ik.Cluster, k.Grouped(), store.ErrNotFound))
		return
	}
	gate.WriteJSON(w, http.StatusOK, map[string]any{"beatIntervalMs": interval.Milliseconds()})
}

// prefixField qualifies the field named by a FieldError.
func prefixField(prefix string, err error) error {
	var fe *param.FieldError
	if errors.As(err, &fe) {
		return &param.FieldError{Field: prefix + fe.Field, Reason: fe.Reason}
	}
	return err
}

// applyTimings sets the heartbeat timings from the preserved metadata keys.
func applyTimings(in *store.Instance) error {
	var err error
	in.BeatInterval, in.BeatTimeout, in.DeleteTimeout, err = param.HeartbeatMillis(in.Metadata)
	return err
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
