package nacos

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/roster-io/roster/door/gate"
	"github.com/roster-io/roster/internal/param"
	"github.com/roster-io/roster/store"
)

// The console's catalog (/nacos/v1/ns/catalog/): services with counts,
// one service with its clusters, and one cluster's instances, in Nacos
// 1.4's shapes.

// clusterJSON is Nacos' Cluster as the catalog serialises it. roster runs
// no server-side health checks, so the checker is NONE.
type clusterJSON struct {
	ServiceName      string            `json:"serviceName"`
	Name             string            `json:"name"`
	HealthChecker    map[string]string `json:"healthChecker"`
	DefaultPort      int               `json:"defaultPort"`
	DefaultCheckPort int               `json:"defaultCheckPort"`
	UseIPPort4Check  bool              `json:"useIPPort4Check"`
	Metadata         map[string]string `json:"metadata"`
	Sitegroup        string            `json:"sitegroup"`
}

// clustersOf returns the cluster names of snap, sorted (instances are
// sorted by cluster).
func clustersOf(snap *store.Snapshot) []string {
	var out []string
	for _, in := range snap.Instances {
		if len(out) == 0 || out[len(out)-1] != in.Cluster {
			out = append(out, in.Cluster)
		}
	}
	return out
}

// catalogService handles GET catalog/service:
// {"service":{name,groupName,protectThreshold,selector,metadata},"clusters":[...]}.
func (d *Door) catalogService(w http.ResponseWriter, r *http.Request, p param.Values) error {
	k, err := nacosKey(p)
	if err != nil {
		return err
	}
	snap := d.core.Snapshot(k)
	if !snap.Exists {
		return fmt.Errorf("nacos: service %s is not found: %w", k.Grouped(), store.ErrServiceNotFound)
	}
	clusters := []clusterJSON{}
	for _, c := range clustersOf(snap) {
		clusters = append(clusters, clusterJSON{ServiceName: k.Grouped(), Name: c, HealthChecker: map[string]string{"type": "NONE"},
			DefaultPort: 80, DefaultCheckPort: 80, UseIPPort4Check: true, Metadata: map[string]string{}})
	}
	gate.WriteJSON(w, http.StatusOK, map[string]any{
		"service": map[string]any{
			"name": k.Service, "groupName": k.Group, "protectThreshold": snap.Info.ProtectThreshold,
			"selector": map[string]string{"type": "none"}, "metadata": nonNil(snap.Info.Metadata),
		},
		"clusters": clusters,
	})
	return nil
}

// instanceJSON is Nacos' naming Instance as the catalog serialises it.
type instanceJSON struct {
	InstanceID                string            `json:"instanceId"`
	IP                        string            `json:"ip"`
	Port                      int               `json:"port"`
	Weight                    float64           `json:"weight"`
	Healthy                   bool              `json:"healthy"`
	Enabled                   bool              `json:"enabled"`
	Ephemeral                 bool              `json:"ephemeral"`
	ClusterName               string            `json:"clusterName"`
	ServiceName               string            `json:"serviceName"`
	Metadata                  map[string]string `json:"metadata"`
	Marked                    bool              `json:"marked"`
	InstanceHeartBeatInterval int64             `json:"instanceHeartBeatInterval"`
	InstanceHeartBeatTimeOut  int64             `json:"instanceHeartBeatTimeOut"`
	IPDeleteTimeout           int64             `json:"ipDeleteTimeout"`
	InstanceIDGenerator       string            `json:"instanceIdGenerator"`
}

func toInstanceJSON(k store.Key, in *store.Instance) instanceJSON {
	return instanceJSON{
		InstanceID: in.ID(k), IP: in.IP, Port: in.Port, Weight: in.Weight, Healthy: in.Healthy, Enabled: in.Enabled,
		Ephemeral: in.Ephemeral, ClusterName: in.Cluster, ServiceName: k.Grouped(), Metadata: nonNil(in.Metadata),
		InstanceHeartBeatInterval: in.BeatInterval.Milliseconds(), InstanceHeartBeatTimeOut: in.BeatTimeout.Milliseconds(),
		IPDeleteTimeout: in.DeleteTimeout.Milliseconds(), InstanceIDGenerator: "simple",
	}
}

// catalogInstances handles GET catalog/instances: one cluster's instances,
// paged (pageNo, pageSize), {"list":[...],"count":N}; 404 for a missing
// service or cluster, as in Nacos.
func (d *Door) catalogInstances(w http.ResponseWriter, r *http.Request, p param.Values) error {
	k, err := nacosKey(p)
	if err != nil {
		return err
	}
	cluster, err := param.Name("clusterName", p.Get("clusterName"))
	if err != nil {
		return err
	}
	start, end, err := pageBounds(p, 10)
	if err != nil {
		return err
	}
	snap := d.core.Snapshot(k)
	if !snap.Exists {
		return fmt.Errorf("nacos: service %s is not found: %w", k.Grouped(), store.ErrServiceNotFound)
	}
	var all []instanceJSON
	for _, in := range snap.Instances {
		if in.Cluster == cluster {
			all = append(all, toInstanceJSON(k, in))
		}
	}
	if all == nil {
		return fmt.Errorf("nacos: cluster %s is not found in %s: %w", cluster, k.Grouped(), store.ErrNotFound)
	}
	gate.WriteJSON(w, http.StatusOK, map[string]any{"list": append([]instanceJSON{}, page(all, start, end)...), "count": len(all)})
	return nil
}

// serviceView is one service of catalog/services (Nacos' ServiceView).
type serviceView struct {
	Name                 string `json:"name"`
	GroupName            string `json:"groupName"`
	ClusterCount         int    `json:"clusterCount"`
	IPCount              int    `json:"ipCount"`
	HealthyInstanceCount int    `json:"healthyInstanceCount"`
	TriggerFlag          string `json:"triggerFlag"`
}

// hostView is one instance in catalog/services?withInstances=true
// (Nacos' IpAddressInfo).
type hostView struct {
	IP       string            `json:"ip"`
	Port     int               `json:"port"`
	Metadata map[string]string `json:"metadata"`
	Valid    bool              `json:"valid"`
	Weight   float64           `json:"weight"`
	Enabled  bool              `json:"enabled"`
}

// serviceDetailView is one service with withInstances=true (Nacos'
// ServiceDetailInfo).
type serviceDetailView struct {
	ServiceName string                           `json:"serviceName"`
	GroupName   string                           `json:"groupName"`
	ClusterMap  map[string]map[string][]hostView `json:"clusterMap"`
	Metadata    map[string]string                `json:"metadata"`
}

// catalogFilter reads the search parameters of catalog/services.
type catalogFilter struct {
	service, group string // substrings; empty matches any
	instance       string // "ip" or "ip:port"; empty matches any
	hasIPCount     bool
}

func (f catalogFilter) keeps(snap *store.Snapshot) bool {
	k := snap.Key
	if !strings.Contains(k.Service, f.service) || !strings.Contains(k.Group, f.group) {
		return false
	}
	if f.hasIPCount && len(snap.Instances) == 0 {
		return false
	}
	if f.instance == "" {
		return true
	}
	for _, in := range snap.Instances {
		if in.IP == f.instance || in.IP+":"+strconv.Itoa(in.Port) == f.instance {
			return true
		}
	}
	return false
}

// catalogServices handles GET catalog/services: the namespace's services
// matching serviceNameParam and groupNameParam (substrings, as Nacos
// matches them), instance (an ip or ip:port they must hold) and
// hasIpCount, paged; {"serviceList":[...],"count":N}, or with
// withInstances=true the list of services with their instances.
func (d *Door) catalogServices(w http.ResponseWriter, r *http.Request, p param.Values) error {
	ns, err := nacosNamespace(p)
	if err != nil {
		return err
	}
	withInstances, err := param.Bool("withInstances", p.Get("withInstances"), false)
	if err != nil {
		return err
	}
	f := catalogFilter{service: strings.TrimSpace(p.Get("serviceNameParam")), group: strings.TrimSpace(p.Get("groupNameParam")),
		instance: strings.TrimSpace(p.Get("instance"))}
	if f.hasIPCount, err = param.Bool("hasIpCount", p.Get("hasIpCount"), false); err != nil {
		return err
	}
	start, end, err := pageBounds(p, 10)
	if err != nil {
		return err
	}
	var snaps []*store.Snapshot
	for _, s := range d.core.Services(ns, "") {
		if snap := d.core.Snapshot(s.Key); snap.Exists && f.keeps(snap) {
			snaps = append(snaps, snap)
		}
	}
	if withInstances {
		out := []serviceDetailView{}
		for _, snap := range page(snaps, start, end) {
			out = append(out, detailView(snap))
		}
		gate.WriteJSON(w, http.StatusOK, out)
		return nil
	}
	views := []serviceView{}
	for _, snap := range page(snaps, start, end) {
		views = append(views, serviceView{Name: snap.Key.Service, GroupName: snap.Key.Group, ClusterCount: len(clustersOf(snap)),
			IPCount: len(snap.Instances), HealthyInstanceCount: snap.Healthy(), TriggerFlag: "false"})
	}
	gate.WriteJSON(w, http.StatusOK, map[string]any{"serviceList": views, "count": len(snaps)})
	return nil
}

// detailView returns a service with its instances by cluster.
func detailView(snap *store.Snapshot) serviceDetailView {
	v := serviceDetailView{ServiceName: snap.Key.Service, GroupName: snap.Key.Group,
		ClusterMap: map[string]map[string][]hostView{}, Metadata: nonNil(snap.Info.Metadata)}
	for _, in := range snap.Instances {
		c := v.ClusterMap[in.Cluster]
		if c == nil {
			c = map[string][]hostView{"hosts": {}}
			v.ClusterMap[in.Cluster] = c
		}
		c["hosts"] = append(c["hosts"], hostView{IP: in.IP, Port: in.Port, Metadata: nonNil(in.Metadata), Valid: in.Healthy, Weight: in.Weight, Enabled: in.Enabled})
	}
	return v
}
