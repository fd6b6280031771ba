package nacos

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/roster-io/roster/door/gate"
	"github.com/roster-io/roster/internal/param"
	"github.com/roster-io/roster/store"
)

// Health endpoints: a cluster's health checker (PUT cluster), health set
// by the API where the checker is NONE (PUT health/instance), the checker
// types (GET health/checkers), and the rule for a `healthy` parameter on
// an instance update.

// healthRoutes registers the health endpoints under ns.
func (d *Door) healthRoutes(mux *http.ServeMux, ns string) {
	mux.HandleFunc("PUT "+ns+"cluster", d.handler(d.clusterUpdate))
	mux.HandleFunc("PUT "+ns+"health", d.handler(d.healthUpdate))
	mux.HandleFunc("PUT "+ns+"health/instance", d.handler(d.healthUpdate))
	mux.HandleFunc("GET "+ns+"health/checkers", d.clusterView(d.healthCheckers))
}

// clusterUpdate handles PUT cluster: clusterName, checkPort,
// useInstancePort4Check and healthChecker (JSON) are required, as in
// Nacos 1.4; metadata is optional. The service must exist.
func (d *Door) clusterUpdate(w http.ResponseWriter, r *http.Request, p param.Values) error {
	k, err := nacosKey(p)
	if err != nil {
		return err
	}
	name, err := param.Name("clusterName", p.Get("clusterName"))
	if err != nil {
		return err
	}
	ci, err := clusterSettings(p)
	if err != nil {
		return err
	}
	err = d.core.UpdateService(r.Context(), k, func(s *store.ServiceInfo) {
		if s.Clusters == nil {
			s.Clusters = map[string]store.ClusterInfo{}
		}
		s.Clusters[name] = ci
	})
	if err != nil {
		return err
	}
	gate.WriteText(w, http.StatusOK, "ok")
	return nil
}

// clusterSettings reads and checks the settings of PUT cluster.
func clusterSettings(p param.Values) (store.ClusterInfo, error) {
	var ci store.ClusterInfo
	if p.Get("checkPort") == "" {
		return ci, &param.FieldError{Field: "checkPort", Reason: "is required"}
	}
	port, err := param.Int("checkPort", p.Get("checkPort"), 0, 0, 65535)
	if err != nil {
		return ci, err
	}
	if p.Get("useInstancePort4Check") == "" {
		return ci, &param.FieldError{Field: "useInstancePort4Check", Reason: "is required"}
	}
	if ci.UseInstancePort, err = param.Bool("useInstancePort4Check", p.Get("useInstancePort4Check"), true); err != nil {
		return ci, err
	}
	ci.CheckPort = port
	if ci.HealthChecker, err = parseChecker(p.Get("healthChecker")); err != nil {
		return ci, err
	}
	if ci.Metadata, err = param.Metadata("metadata", p.Get("metadata")); err != nil {
		return ci, err
	}
	if len(ci.Metadata) == 0 {
		ci.Metadata = nil
	}
	if f, why := ci.Check(); f != "" {
		return ci, &param.FieldError{Field: f, Reason: why}
	}
	return ci, nil
}

// parseChecker reads Nacos' healthChecker JSON: {"type":"TCP"},
// {"type":"NONE"} or {"type":"HTTP","path":"/x","headers":"A:b|C:d",
// "expectedResponseCode":200}. Unknown fields are refused.
func parseChecker(raw string) (store.HealthChecker, error) {
	var hc struct {
		Type         string `json:"type"`
		Path         string `json:"path"`
		Headers      string `json:"headers"`
		ExpectedCode *int   `json:"expectedResponseCode"`
	}
	if strings.TrimSpace(raw) == "" {
		return store.HealthChecker{}, &param.FieldError{Field: "healthChecker", Reason: `is required: {"type":"TCP"}, {"type":"HTTP","path":"/health"} or {"type":"NONE"}`}
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&hc); err != nil {
		return store.HealthChecker{}, &param.FieldError{Field: "healthChecker", Reason: "not a health checker JSON object: " + err.Error()}
	}
	out := store.HealthChecker{Type: strings.ToUpper(hc.Type), Path: hc.Path, Headers: hc.Headers}
	if out.Type == store.CheckHTTP {
		out.ExpectedCode = 200
		if hc.ExpectedCode != nil {
			out.ExpectedCode = *hc.ExpectedCode
		}
	} else if hc.ExpectedCode != nil {
		out.ExpectedCode = *hc.ExpectedCode
	}
	return out, nil
}

// healthUpdate handles PUT health and health/instance: healthy (or
// valid) sets the health of a persistent instance whose cluster's checker
// is NONE. Anything else is a 400 saying why, as in Nacos ("health check
// is still working").
func (d *Door) healthUpdate(w http.ResponseWriter, r *http.Request, p param.Values) error {
	v, _ := p.First("healthy", "valid")
	if v == "" {
		return &param.FieldError{Field: "healthy", Reason: "is required"}
	}
	healthy, err := param.Bool("healthy", v, true)
	if err != nil {
		return err
	}
	k, ik, err := nacosInstanceKey(p)
	if err != nil {
		return err
	}
	if err := d.core.SetHealth(r.Context(), k, ik, healthy); err != nil {
		return err
	}
	gate.WriteText(w, http.StatusOK, "ok")
	return nil
}

// healthSettable says whether a client may set the health of instance
// ik (node.HealthSettable), with 404 for a missing instance.
func (d *Door) healthSettable(k store.Key, ik store.InstanceKey) error {
	if _, ok := d.core.Snapshot(k).Find(ik); !ok {
		return fmt.Errorf("node: no instance %s:%d in cluster %s of %s: %w", ik.IP, ik.Port, ik.Cluster, k.Grouped(), store.ErrNotFound)
	}
	return d.core.HealthSettable(k, ik)
}

// healthyPatch is the healthy parameter of an instance update: nil when
// absent, an error when the health cannot be set (healthSettable).
func (d *Door) healthyPatch(k store.Key, ik store.InstanceKey, p param.Values) (func(*store.Instance), error) {
	v := p.Get("healthy")
	if v == "" {
		return nil, nil
	}
	healthy, err := param.Bool("healthy", v, true)
	if err != nil {
		return nil, err
	}
	if _, ok := d.core.Snapshot(k).Find(ik); !ok {
		return nil, nil // the update answers that the instance is missing
	}
	if err := d.healthSettable(k, ik); err != nil {
		return nil, err
	}
	return func(in *store.Instance) { in.Healthy = healthy }, nil
}

// healthCheckers handles GET health/checkers: the checker types and their
// defaults.
func (d *Door) healthCheckers(w http.ResponseWriter, _ *http.Request, _ param.Values) error {
	gate.WriteJSON(w, http.StatusOK, map[string]any{
		store.CheckTCP:  map[string]any{"type": store.CheckTCP},
		store.CheckHTTP: map[string]any{"type": store.CheckHTTP, "path": "", "headers": "", "expectedResponseCode": 200},
		store.CheckNone: map[string]any{"type": store.CheckNone},
	})
	return nil
}

// checkerJSON is a checker as Nacos shows it.
func checkerJSON(hc store.HealthChecker) map[string]any {
	out := map[string]any{"type": hc.Type}
	if hc.Type == store.CheckHTTP {
		out["path"], out["headers"], out["expectedResponseCode"] = hc.Path, hc.Headers, hc.ExpectedCode
	}
	return out
}

// clustersJSON lists the clusters of a service for GET service: those
// with instances and those with settings, sorted by name.
func clustersJSON(snap *store.Snapshot) []nacosClusterJSON {
	names := map[string]bool{}
	for _, in := range snap.Instances {
		names[in.Cluster] = true
	}
	for name := range snap.Info.Clusters {
		names[name] = true
	}
	sorted := make([]string, 0, len(names))
	for name := range names {
		sorted = append(sorted, name)
	}
	slices.Sort(sorted)
	out := make([]nacosClusterJSON, 0, len(sorted))
	for _, name := range sorted {
		ci := snap.Info.Cluster(name)
		out = append(out, nacosClusterJSON{Name: name, HealthChecker: checkerJSON(ci.HealthChecker), Metadata: nonNil(ci.Metadata),
			DefaultCheckPort: ci.CheckPort, UseIPPort4Check: ci.UseInstancePort})
	}
	return out
}
