package client

import (
	"cmp"
	"encoding/json"
	"maps"
	"slices"
	"time"

	"github.com/roster-io/roster/api"
)

// Service names a service. Empty Namespace and Group mean the server's
// defaults, "public" and "DEFAULT_GROUP".
type Service struct {
	Namespace string
	Group     string
	Name      string
}

// normal returns s with the server's defaults applied.
func (s Service) normal() Service {
	return Service{Namespace: cmp.Or(s.Namespace, api.DefaultNamespace), Group: cmp.Or(s.Group, api.DefaultGroup),
		Name: s.Name}
}

// String returns "namespace##group@@name" (api.ServiceKey), the key the
// ring hashes, with the defaults applied.
func (s Service) String() string {
	n := s.normal()
	return api.ServiceKey(n.Namespace, n.Group, n.Name)
}

// InstanceKey names one instance. An empty Cluster means "DEFAULT".
type InstanceKey struct {
	Service
	Cluster string
	IP      string
	Port    int
}

// normal returns k with the server's defaults filled in, so two keys that
// name the same instance compare equal.
func (k InstanceKey) normal() InstanceKey {
	return InstanceKey{Service: k.Service.normal(), Cluster: cmp.Or(k.Cluster, api.DefaultCluster), IP: k.IP,
		Port: k.Port}
}

// Registration describes an instance to register and keep alive. Service
// (Name), IP and Port are required.
type Registration struct {
	InstanceKey
	// Weight is the load-balancing weight, 0 to 10000; 0 means the
	// server's default, 1.
	Weight float64
	// Metadata is free-form; the preserved.* keys set heartbeat timings in
	// milliseconds, as in Nacos.
	Metadata map[string]string
	// BeatInterval, BeatTimeout and DeleteTimeout override the heartbeat
	// timings (defaults 5s, 15s and 30s; millisecond precision). The
	// client beats at the interval the server answers with.
	BeatInterval  time.Duration
	BeatTimeout   time.Duration
	DeleteTimeout time.Duration
}

// Instance is an instance as a node reports it.
type Instance struct {
	Namespace     string
	Group         string
	Service       string
	Cluster       string
	IP            string
	Port          int
	InstanceID    string
	Weight        float64
	Healthy       bool
	Enabled       bool
	Ephemeral     bool
	Metadata      map[string]string
	BeatInterval  time.Duration
	BeatTimeout   time.Duration
	DeleteTimeout time.Duration
}

// Key returns the key naming in.
func (in Instance) Key() InstanceKey {
	return InstanceKey{Service: Service{Namespace: in.Namespace, Group: in.Group, Name: in.Service},
		Cluster: in.Cluster, IP: in.IP, Port: in.Port}
}

// wireInstance is the native API's JSON form of an instance.
type wireInstance = api.Instance

// wireKey is the JSON form of an instance key (the body of a beat).
func wireKey(k InstanceKey) wireInstance {
	return wireInstance{Namespace: k.Namespace, Group: k.Group, Service: k.Name, Cluster: k.Cluster, IP: k.IP, Port: k.Port}
}

// toWire renders a registration for POST /v1/instance.
func (r Registration) toWire(enabled bool) wireInstance {
	w := wireKey(r.InstanceKey)
	if r.Weight != 0 {
		wt := r.Weight
		w.Weight = &wt
	}
	w.Enabled = &enabled
	w.Metadata = maps.Clone(r.Metadata)
	w.BeatIntervalMs = r.BeatInterval.Milliseconds()
	w.BeatTimeoutMs = r.BeatTimeout.Milliseconds()
	w.DeleteTimeoutMs = r.DeleteTimeout.Milliseconds()
	return w
}

// fromWire converts a node's instance.
func fromWire(w wireInstance) Instance {
	deref := func(b *bool) bool { return b != nil && *b }
	in := Instance{Namespace: w.Namespace, Group: w.Group, Service: w.Service, Cluster: w.Cluster, IP: w.IP,
		Port: w.Port, InstanceID: w.InstanceID, Healthy: deref(w.Healthy), Enabled: deref(w.Enabled),
		Ephemeral: deref(w.Ephemeral), Metadata: w.Metadata,
		BeatInterval:  time.Duration(w.BeatIntervalMs) * time.Millisecond,
		BeatTimeout:   time.Duration(w.BeatTimeoutMs) * time.Millisecond,
		DeleteTimeout: time.Duration(w.DeleteTimeoutMs) * time.Millisecond}
	if w.Weight != nil {
		in.Weight = *w.Weight
	}
	return in
}

// MarshalJSON renders in as the native API does (timings in ms), which is
// also what `roster watch --json` prints.
func (in Instance) MarshalJSON() ([]byte, error) {
	w, h, e, eph := in.Weight, in.Healthy, in.Enabled, in.Ephemeral
	return json.Marshal(wireInstance{Namespace: in.Namespace, Group: in.Group, Service: in.Service,
		Cluster: in.Cluster, IP: in.IP, Port: in.Port, InstanceID: in.InstanceID, Weight: &w, Healthy: &h,
		Enabled: &e, Ephemeral: &eph, Metadata: in.Metadata, BeatIntervalMs: in.BeatInterval.Milliseconds(),
		BeatTimeoutMs: in.BeatTimeout.Milliseconds(), DeleteTimeoutMs: in.DeleteTimeout.Milliseconds()})
}

// UnmarshalJSON reads the native API's form of an instance.
func (in *Instance) UnmarshalJSON(b []byte) error {
	var w wireInstance
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*in = fromWire(w)
	return nil
}

// listBody is the answer to GET /v1/instances.
type listBody api.List

// instances converts a list answer, sorted by cluster, ip, port.
func (l listBody) instances() []Instance {
	out := make([]Instance, len(l.Instances))
	for i, w := range l.Instances {
		out[i] = fromWire(w)
	}
	slices.SortFunc(out, func(a, b Instance) int {
		return cmp.Or(cmp.Compare(a.Cluster, b.Cluster), cmp.Compare(a.IP, b.IP), cmp.Compare(a.Port, b.Port))
	})
	return out
}
