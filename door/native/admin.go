package native

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/roster-io/roster/api"
	"github.com/roster-io/roster/door/gate"
	"github.com/roster-io/roster/internal/param"
	"github.com/roster-io/roster/store"
)

// The operator endpoints of the native API: PATCH /v1/instance changes an
// instance's weight, enabled flag or metadata; GET /v1/instances/beats
// shows when each instance last beat; GET /v1/namespaces lists the
// namespaces. The console (door/console) and `roster instance` use them.

// patchError names fields a PATCH may not change.
func patchError(j *instanceJSON) error {
	switch {
	case j.Healthy != nil:
		return &param.FieldError{Field: "healthy", Reason: "cannot be changed: health comes from beats"}
	case j.Ephemeral != nil:
		return &param.FieldError{Field: "ephemeral", Reason: "cannot be changed: deregister and register again"}
	case j.BeatIntervalMs != 0 || j.BeatTimeoutMs != 0 || j.DeleteTimeoutMs != 0:
		return &param.FieldError{Field: "beatIntervalMs", Reason: "heartbeat timings cannot be changed by an update; register again"}
	case j.Weight == nil && j.Enabled == nil && j.Metadata == nil:
		return &param.FieldError{Field: "body", Reason: "names nothing to change: send weight, enabled or metadata"}
	}
	return nil
}

// instancePatch validates the changes of a PATCH body and returns them as
// an update function.
func instancePatch(j *instanceJSON) (func(*store.Instance), error) {
	if err := patchError(j); err != nil {
		return nil, err
	}
	var weight float64
	if j.Weight != nil {
		var err error
		if weight, err = param.Weight("weight", strconv.FormatFloat(*j.Weight, 'g', -1, 64), 1); err != nil {
			return nil, err
		}
	}
	var probe store.Instance
	if j.Metadata != nil {
		md, err := param.CheckedMetadata("metadata", j.Metadata)
		if err != nil {
			return nil, err
		}
		probe.Metadata = md
		if err := applyTimings(&probe); err != nil {
			return nil, err
		}
	}
	return func(in *store.Instance) {
		if j.Weight != nil {
			in.Weight = weight
		}
		if j.Enabled != nil {
			in.Enabled = *j.Enabled
		}
		if j.Metadata != nil {
			in.Metadata = probe.Metadata
			in.BeatInterval, in.BeatTimeout, in.DeleteTimeout = probe.BeatInterval, probe.BeatTimeout, probe.DeleteTimeout
		}
	}, nil
}

// update handles PATCH /v1/instance: the body names the instance and
// carries the fields to change (weight, enabled, metadata; metadata
// replaces the whole map). 404 if the instance does not exist.
func (d *Door) update(w http.ResponseWriter, r *http.Request) {
	var j instanceJSON
	if err := gate.DecodeJSON(r, &j, d.cfg.MaxBodyBytes); err != nil {
		gate.JSONError(w, err)
		return
	}
	k, ik, err := nativeInstanceKey(&j)
	if err == nil {
		err = d.allow(r, gate.Write, k)
	}
	if err != nil {
		gate.JSONError(w, err)
		return
	}
	patch, err := instancePatch(&j)
	if err != nil {
		gate.JSONError(w, err)
		return
	}
	in, err := d.core.Update(r.Context(), k, ik, patch)
	if errors.Is(err, store.ErrNotFound) {
		err = fmt.Errorf("instance %s:%d not found in cluster %s of %s: %w", ik.IP, ik.Port, ik.Cluster, k.Grouped(), store.ErrNotFound)
	}
	if err != nil {
		gate.JSONError(w, err)
		return
	}
	gate.WriteJSON(w, http.StatusOK, map[string]any{"instance": toJSON(k, &in), "index": d.core.Index()})
}

// ownerAskTimeout bounds asking a service's owner for its beat times.
const ownerAskTimeout = 2 * time.Second

// beats handles GET /v1/instances/beats?service=S[&group=&namespace=]:
// the owner's beat times, asked of the owner when this node is not it.
func (d *Door) beats(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	k, err := nativeKey(q.Get("namespace"), q.Get("group"), q.Get("service"))
	if err == nil {
		err = d.allow(r, gate.Read, k)
	}
	if err != nil {
		gate.JSONError(w, err)
		return
	}
	out := api.LastBeats{Namespace: k.Namespace, Group: k.Group, Service: k.Service, Node: d.core.Name(),
		Instances: []api.InstanceBeat{}}
	if !d.core.Clustered() {
		out.OwnerName = d.core.Name()
	} else if m, ok := d.core.Owner(k); ok {
		out.OwnerName, out.OwnerAddr = m.Name, m.HTTPAddr
	}
	ctx, cancel := context.WithTimeout(r.Context(), ownerAskTimeout)
	defer cancel()
	beats, now, from, err := d.core.OwnerLastBeats(ctx, k)
	out.From, out.Owner = from, err == nil
	if err != nil {
		out.OwnerError = err.Error()
		beats, now = d.core.LastBeats(k)
		out.From = d.core.Name()
	}
	out.Now = now.UnixMilli()
	for ik, t := range beats {
		out.Instances = append(out.Instances, api.InstanceBeat{Cluster: ik.Cluster, IP: ik.IP, Port: ik.Port, LastBeat: t.UnixMilli()})
	}
	slices.SortFunc(out.Instances, func(a, b api.InstanceBeat) int {
		return strings.Compare(a.Cluster+"|"+a.IP+"|"+strconv.Itoa(a.Port), b.Cluster+"|"+b.IP+"|"+strconv.Itoa(b.Port))
	})
	gate.WriteJSON(w, http.StatusOK, out)
}

// namespaces handles GET /v1/namespaces.
func (d *Door) namespaces(w http.ResponseWriter, r *http.Request) {
	counts := d.core.Namespaces()
	delete(counts, gate.SystemNamespace) // the cluster's own records
	if _, ok := counts[store.DefaultNamespace]; !ok {
		counts[store.DefaultNamespace] = 0
	}
	out := api.Namespaces{Namespaces: make([]api.Namespace, 0, len(counts))}
	for ns, n := range counts {
		out.Namespaces = append(out.Namespaces, api.Namespace{Namespace: ns, Services: n})
	}
	slices.SortFunc(out.Namespaces, func(a, b api.Namespace) int { return strings.Compare(a.Namespace, b.Namespace) })
	gate.WriteJSON(w, http.StatusOK, out)
}

// waitServices is the blocking part of GET /v1/services?index=N: it waits
// until the registry's index passes N (or wait elapses) and returns the
// index then. index 0 answers at once.
func (d *Door) waitServices(ctx context.Context, index uint64, wait time.Duration) (uint64, error) {
	if index == 0 || wait == 0 {
		return d.core.Index(), nil
	}
	var cur uint64
	err := d.gate.Waiting(func() { cur = d.core.WaitIndex(ctx, index, wait) })
	return cur, err
}
