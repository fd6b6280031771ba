package store

import (
	"cmp"
	"maps"
	"time"

	"github.com/roster-io/roster/api"
)

//go:generate go tool msgp -file types.go -io=false -tests=false
//msgp:ignore Summary
//msgp:limit arrays:0 maps:1024

// Defaults of the data model, as in Nacos. They are the client–server
// contract's (package api), so the store and the clients cannot disagree.
const (
	DefaultNamespace = api.DefaultNamespace
	DefaultGroup     = api.DefaultGroup
	DefaultCluster   = api.DefaultCluster

	DefaultBeatInterval  = api.DefaultBeatInterval
	DefaultBeatTimeout   = api.DefaultBeatTimeout
	DefaultDeleteTimeout = api.DefaultDeleteTimeout
)

// Key names a service.
type Key struct {
	Namespace string `json:"namespace"`
	Group     string `json:"group"`
	Service   string `json:"service"`
}

// String returns the ring key of the service, namespace##group@@service
// (api.ServiceKey).
func (k Key) String() string { return api.ServiceKey(k.Namespace, k.Group, k.Service) }

// Grouped returns Nacos' grouped service name, group@@service
// (api.Grouped).
func (k Key) Grouped() string { return api.Grouped(k.Group, k.Service) }

// compareKeys orders keys by namespace, group, service.
func compareKeys(a, b Key) int {
	if c := cmp.Compare(a.Namespace, b.Namespace); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Group, b.Group); c != 0 {
		return c
	}
	return cmp.Compare(a.Service, b.Service)
}

// InstanceKey names an instance within a service.
type InstanceKey struct {
	Cluster string `json:"cluster"`
	IP      string `json:"ip"`
	Port    int    `json:"port"`
}

// compareInstanceKeys orders instance keys by cluster, ip, port.
func compareInstanceKeys(a, b InstanceKey) int {
	if c := cmp.Compare(a.Cluster, b.Cluster); c != 0 {
		return c
	}
	if c := cmp.Compare(a.IP, b.IP); c != 0 {
		return c
	}
	return cmp.Compare(a.Port, b.Port)
}

// Instance is one registered endpoint of a service. Values handed out by
// the store share their Metadata map with the store: treat it as read-only.
type Instance struct {
	InstanceKey
	Weight    float64           `json:"weight"`
	Healthy   bool              `json:"healthy"`
	Enabled   bool              `json:"enabled"`
	Ephemeral bool              `json:"ephemeral"`
	Metadata  map[string]string `json:"metadata"`
	// BeatInterval is how often the client promises to beat.
	BeatInterval time.Duration `json:"beatInterval"`
	// BeatTimeout is how long without a beat before the instance is
	// unhealthy.
	BeatTimeout time.Duration `json:"beatTimeout"`
	// DeleteTimeout is how long without a beat before it is removed.
	DeleteTimeout time.Duration `json:"deleteTimeout"`
	// Version orders writes of this record.
	Version Version `json:"version"`
	// Deleted marks a tombstone.
	Deleted bool `json:"deleted,omitempty"`
	// Expired marks a record written by expiry (unhealthy or removed
	// because beats stopped) rather than by a client.
	Expired bool `json:"expired,omitempty"`
	// Heard is set only on a re-assertion (see MergeGuarded): when the
	// node that re-asserts the instance last heard its client, in Unix
	// nanoseconds. The node that merges it counts the instance's timeouts
	// from then, not from the record's arrival, so a re-assertion cannot
	// stretch an expiry by up to a whole timeout. It is never stored.
	Heard int64 `json:"heard,omitempty"`
	// Holder and Conn bind a connection-bound instance (a Nacos 2.x
	// client's, registered over gRPC) to the node holding its client's
	// connection and that connection's id. The holder renews such
	// instances with one lease per connection (RenewBound); an expiry
	// decision about one names the binding it judged, so it deletes only
	// a record still bound to that connection (see MergeGuarded). Empty
	// for an instance that beats.
	Holder string `json:"holder,omitempty"`
	Conn   string `json:"conn,omitempty"`
}

// ID returns Nacos' instance id, ip#port#cluster#group@@service
// (api.InstanceID).
func (i *Instance) ID(k Key) string {
	return api.InstanceID(i.IP, i.Port, i.Cluster, k.Group, k.Service)
}

// clone returns a copy of i with its own metadata map.
func (i Instance) clone() Instance {
	i.Metadata = maps.Clone(i.Metadata)
	if i.Metadata == nil {
		i.Metadata = map[string]string{}
	}
	return i
}

// withDefaults fills zero heartbeat timings with the defaults.
func (i Instance) withDefaults() Instance {
	if i.Cluster == "" {
		i.Cluster = DefaultCluster
	}
	if i.BeatInterval <= 0 {
		i.BeatInterval = DefaultBeatInterval
	}
	if i.BeatTimeout <= 0 {
		i.BeatTimeout = DefaultBeatTimeout
	}
	if i.DeleteTimeout <= 0 {
		i.DeleteTimeout = DefaultDeleteTimeout
	}
	return i
}

// ServiceInfo is the service-level record: protect threshold, metadata
// and the settings of its clusters.
type ServiceInfo struct {
	// ProtectThreshold in [0,1]: when the healthy share of the service's
	// instances is at or below it, queries return every instance.
	ProtectThreshold float64           `json:"protectThreshold"`
	Metadata         map[string]string `json:"metadata"`
	// Clusters holds the settings of the clusters that have any, by
	// cluster name; a cluster without an entry has the defaults.
	Clusters map[string]ClusterInfo `json:"clusters,omitempty" msg:"Clusters,omitempty"`
	Version  Version                `json:"version"`
	Deleted  bool                   `json:"deleted,omitempty"`
}

// ClusterInfo is the settings of one cluster of a service: how the
// service's owner checks the health of its persistent instances (package
// health), as Nacos' PUT /nacos/v1/ns/cluster sets them.
type ClusterInfo struct {
	HealthChecker HealthChecker `json:"healthChecker"`
	// CheckPort is the port checked when UseInstancePort is false.
	CheckPort int `json:"checkPort"`
	// UseInstancePort checks each instance's own port.
	UseInstancePort bool              `json:"useInstancePort4Check"`
	Metadata        map[string]string `json:"metadata,omitempty" msg:"Metadata,omitempty"`
}

// HealthChecker is a cluster's health check: Type TCP (connect), HTTP
// (GET Path with Headers, expecting ExpectedCode) or NONE (health is set
// through the API).
type HealthChecker struct {
	Type string `json:"type"`
	Path string `json:"path,omitempty"`
	// Headers are Nacos' "Name:value|Name:value".
	Headers      string `json:"headers,omitempty"`
	ExpectedCode int    `json:"expectedResponseCode,omitempty"`
}

// Health checker types.
const (
	CheckTCP  = "TCP"
	CheckHTTP = "HTTP"
	CheckNone = "NONE"
)

// Cluster returns the settings of cluster name: its entry, or the
// defaults (a TCP check of each instance's port, as in Nacos).
func (s *ServiceInfo) Cluster(name string) ClusterInfo {
	if c, ok := s.Clusters[name]; ok {
		return c
	}
	return ClusterInfo{HealthChecker: HealthChecker{Type: CheckTCP}, CheckPort: 80, UseInstancePort: true}
}

// Summary describes a service in listings.
type Summary struct {
	Key       Key
	Instances int
	Healthy   int
}
