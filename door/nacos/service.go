package nacos

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/roster-io/roster/door/gate"
	"github.com/roster-io/roster/internal/param"
	"github.com/roster-io/roster/store"
)

// Nacos v1 service endpoints: POST/DELETE/PUT/GET service, GET
// service/list, GET operator/metrics.

// serviceFields reads protectThreshold and metadata; only present fields
// are applied.
func serviceFields(p param.Values) (func(*store.ServiceInfo), error) {
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
		return &param.FieldError{Field: "serviceName", Reason: "service " + k.Grouped() + " has instances"}
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

// serviceList handles GET service/list: {"count":N,"doms":[...]},
// the names of one group's services, paged from pageNo 1.
func (d *Door) serviceList(w http.ResponseWriter, r *http.Request, p param.Values) error {
	ns, err := param.OptionalName("namespaceId", p.Get("namespaceId"), store.DefaultNamespace)
	if err != nil {
		return err
	}
	group, err := param.OptionalName("groupName", p.Get("groupName"), store.DefaultGroup)
	if err != nil {
		return err
	}
	pageNo, err := param.Int("pageNo", p.Get("pageNo"), 1, 1, 1<<30)
	if err != nil {
		return err
	}
	pageSize, err := param.Int("pageSize", p.Get("pageSize"), 10, 1, 10000)
	if err != nil {
		return err
	}
	all := d.core.Services(ns, group)
	doms := []string{}
	start := (pageNo - 1) * pageSize
	for i := start; i < len(all) && i < start+pageSize; i++ {
		doms = append(doms, all[i].Key.Service)
	}
	gate.WriteJSON(w, http.StatusOK, map[string]any{"count": len(all), "doms": doms})
	return nil
}

// metrics handles GET operator/metrics; nacos-sdk-go checks status UP.
func (d *Door) metrics(w http.ResponseWriter, r *http.Request, p param.Values) error {
	services, instances := d.core.Counts()
	status := "UP"
	if !d.core.Ready() {
		status = "DOWN"
	}
	gate.WriteJSON(w, http.StatusOK, map[string]any{
		"status": status, "serviceCount": services, "instanceCount": instances,
		"responsibleServiceCount": services, "responsibleInstanceCount": instances,
		"subscribeCount": 0, "raftNotifyTaskCount": 0, "cpu": 0, "load": 0, "mem": 0,
	})
	return nil
}
