package native

import (
	"net/http"

	"github.com/roster-io/roster/door/gate"
	"github.com/roster-io/roster/internal/param"
	"github.com/roster-io/roster/store"
)

// Health: PUT /v1/service/cluster sets a cluster's health check, and PUT
// /v1/instance/health sets an instance's health where the checker is
// NONE (the native twins of Nacos' PUT cluster and health/instance).

// clusterUpdate handles PUT /v1/service/cluster?service=S&cluster=C
// [&group=&namespace=] with a store.ClusterInfo JSON body.
func (d *Door) clusterUpdate(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	k, err := nativeKey(q.Get("namespace"), q.Get("group"), q.Get("service"))
	if err == nil {
		err = d.allow(r, gate.Write, k)
	}
	if err != nil {
		gate.JSONError(w, err)
		return
	}
	name, err := param.Name("cluster", q.Get("cluster"))
	if err != nil {
		gate.JSONError(w, err)
		return
	}
	var ci store.ClusterInfo
	if err := gate.DecodeJSON(r, &ci, d.cfg.MaxBodyBytes); err != nil {
		gate.JSONError(w, err)
		return
	}
	if ci.HealthChecker.Type == store.CheckHTTP && ci.HealthChecker.ExpectedCode == 0 {
		ci.HealthChecker.ExpectedCode = 200
	}
	if f, why := ci.Check(); f != "" {
		gate.JSONError(w, &param.FieldError{Field: f, Reason: why})
		return
	}
	if ci.Metadata, err = param.CheckedMetadata("metadata", ci.Metadata); err != nil {
		gate.JSONError(w, err)
		return
	}
	err = d.core.UpdateService(r.Context(), k, func(s *store.ServiceInfo) {
		if s.Clusters == nil {
			s.Clusters = map[string]store.ClusterInfo{}
		}
		s.Clusters[name] = ci
	})
	if err != nil {
		gate.JSONError(w, err)
		return
	}
	gate.WriteJSON(w, http.StatusOK, map[string]any{"cluster": ci, "index": d.core.Index()})
}

// healthBody is the body of PUT /v1/instance/health.
type healthBody struct {
	Healthy *bool `json:"healthy"`
}

// instanceHealth handles PUT /v1/instance/health?service=&ip=&port=
// [&cluster=&group=&namespace=] with {"healthy": bool}.
func (d *Door) instanceHealth(w http.ResponseWriter, r *http.Request) {
	k, ik, err := queryInstanceKey(r)
	if err == nil {
		err = d.allow(r, gate.Write, k)
	}
	if err != nil {
		gate.JSONError(w, err)
		return
	}
	var b healthBody
	if err := gate.DecodeJSON(r, &b, d.cfg.MaxBodyBytes); err != nil {
		gate.JSONError(w, err)
		return
	}
	if b.Healthy == nil {
		gate.JSONError(w, &param.FieldError{Field: "healthy", Reason: param.ReasonMissing})
		return
	}
	if err := d.core.SetHealth(r.Context(), k, ik, *b.Healthy); err != nil {
		gate.JSONError(w, err)
		return
	}
	gate.WriteJSON(w, http.StatusOK, map[string]any{"healthy": *b.Healthy, "index": d.core.Index()})
}
