package nacos

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/roster-io/roster/door/gate"
	"github.com/roster-io/roster/internal/param"
	"github.com/roster-io/roster/store"
)

// Nacos v1 service endpoints: POST/DELETE/PUT/GET service.

// serviceFields reads protectThreshold and metadata; only present fields
// are applied.
func serviceFields(p param.Values) (func(*store.ServiceInfo), error) {
	if err := parseServiceSelector(p.Get("selector")); err != nil {
		return nil, err
	}
	var fns []func(*store.ServiceInfo)
	if v := p.Get("protectThreshold"); v != "" {
		t, err := param.Float01("protectThreshold", v, 0)
		if err != nil {
			return nil, err
		}
		fns = append(fns, func(s *store.ServiceInfo) { s.ProtectThreshold = t })
	}
	if v, ok := p.First("metadata"); ok {
		md, err := param.Metadata("metadata", v)
		if err != nil {
			return nil, err
		}
		fns = append(fns, func(s *store.ServiceInfo) { s.Metadata = md })
	}
	return func(s *store.ServiceInfo) {
		for _, fn := range fns {
			fn(s)
		}
	}, nil
}

// serviceCreate handles POST service.
func (d *Door) serviceCreate(w http.ResponseWriter, r *http.Request, p param.Values) error {
	k, err := nacosKey(p)
	if err != nil {
		return err
	}
	apply, err := serviceFields(p)
	if err != nil {
		return err
	}
	info := store.ServiceInfo{Metadata: map[string]string{}}
	apply(&info)
	if err := d.core.CreateService(r.Context(), k, info); err != nil {
		return serviceError(k, err)
	}
	gate.WriteText(w, http.StatusOK, "ok")
	return nil
}

// serviceUpdate handles PUT service.
func (d *Door) serviceUpdate(w http.ResponseWriter, r *http.Request, p param.Values) error {
	k, err := nacosKey(p)
	if err != nil {
		return err
	}
	apply, err := serviceFields(p)
	if err != nil {
		return err
	}
	if err := d.core.UpdateService(r.Context(), k, apply); err != nil {
		return serviceError(k, err)
	}
	gate.WriteText(w, http.StatusOK, "ok")
	return nil
}

// serviceDelete handles DELETE service.
func (d *Door) serviceDelete(w http.ResponseWriter, r *http.Request, p param.Values) error {
	k, err := nacosKey(p)
	if err != nil {
		return err
	}
	if err := d.core.DeleteService(r.Context(), k); err != nil {
		return serviceError(k, err)
	}
	gate.WriteText(w, http.StatusOK, "ok")
	return nil
}

// serviceError turns store errors about a service into 400s naming
// serviceName, as Nacos answers them.
func serviceError(k store.Key, err error) error {
	switch {
	case errors.Is(err, store.ErrServiceExists):
		return &param.FieldError{Field: "serviceName", Reason: "service " + k.Grouped() + " already exists"}
	case errors.Is(err, store.ErrServiceNotFound):
		return &param.FieldError{Field: "serviceName", Reason: "service " + k.Grouped() + " does not exist"}
	case errors.Is(err, store.ErrServiceHasInstances):
		return &param.FieldError{Field: "serviceName", Reason: "service " + k.Grouped() + " has instances: deregister them first " +
			"(roster does not delete a service's instances with it, unlike Nacos 1.4: their clients' beats would register them again)"}
	}
	return err
}

// nacosServiceDetail is the body of GET service.
type nacosServiceDetail struct {
	NamespaceID      string             `json:"namespaceId"`
	GroupName        string             `json:"groupName"`
	Name             string             `json:"name"`
	ProtectThreshold float64            `json:"protectThreshold"`
	Metadata         map[string]string  `json:"metadata"`
	Selector         map[string]string  `json:"selector"`
	Clusters         []nacosClusterJSON `json:"clusters"`
}

// nacosClusterJSON describes a cluster in GET service.
type nacosClusterJSON struct {
	Name             string            `json:"name"`
	HealthChecker    map[string]any    `json:"healthChecker"`
	Metadata         map[string]string `json:"metadata"`
	DefaultCheckPort int               `json:"defaultCheckPort"`
	UseIPPort4Check  bool              `json:"useIPPort4Check"`
}

// serviceGet handles GET service.
func (d *Door) serviceGet(w http.ResponseWriter, r *http.Request, p param.Values) error {
	k, err := nacosKey(p)
	if err != nil {
		return err
	}
	snap := d.core.Snapshot(k)
	if !snap.Exists {
		return fmt.Errorf("node: service %s is not found: %w", k.Grouped(), store.ErrServiceNotFound)
	}
	out := nacosServiceDetail{
		NamespaceID: k.Namespace, GroupName: k.Group, Name: k.Service,
		ProtectThreshold: snap.Info.ProtectThreshold, Metadata: nonNil(snap.Info.Metadata),
		Selector: map[string]string{"type": "none"}, Clusters: clustersJSON(snap),
	}
	gate.WriteJSON(w, http.StatusOK, out)
	return nil
}
