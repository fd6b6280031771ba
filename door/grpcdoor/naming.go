package grpcdoor

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/roster-io/roster/door/gate"
	"github.com/roster-io/roster/internal/param"
	"github.com/roster-io/roster/node"
	"github.com/roster-io/roster/store"
)

// The naming requests. Ephemeral instances registered with
// InstanceRequest or BatchInstanceRequest are bound to the connection
// (node.Leases); PersistentInstanceRequest registers persistent ones,
// which outlive it.

// serviceKey reads the namespace, group and service of a naming request.
func serviceKey(r namingRequest) (store.Key, error) {
	ns, err := param.OptionalName("namespace", r.Namespace, store.DefaultNamespace)
	if err == nil && ns == gate.SystemNamespace { // the cluster's own records
		err = &param.FieldError{Field: "namespace", Reason: "namespace " + gate.SystemNamespace + " is reserved"}
	}
	if err != nil {
		return store.Key{}, err
	}
	group, svc, err := param.ServiceName(r.ServiceName, r.GroupName)
	if err != nil {
		return store.Key{}, err
	}
	return store.Key{Namespace: ns, Group: group, Service: svc}, nil
}

// instanceOf validates a wire instance, naming its fields under field.
func instanceOf(field string, w wireInstance) (store.Instance, error) {
	var in store.Instance
	var err error
	if in.IP, err = param.IP(field+".ip", w.IP); err != nil {
		return in, err
	}
	if w.Port < 1 || w.Port > math.MaxUint16 {
		return in, &param.FieldError{Field: field + ".port", Reason: fmt.Sprintf("%d is not a port (1-65535)", w.Port)}
	}
	in.Port = int(w.Port)
	if in.Cluster, err = param.OptionalName(field+".clusterName", w.ClusterName, store.DefaultCluster); err != nil {
		return in, err
	}
	in.Weight = 1
	if w.Weight != nil {
		in.Weight = *w.Weight
	}
	if err := param.CheckWeight(field+".weight", in.Weight); err != nil {
		return in, err
	}
	in.Healthy = w.Healthy == nil || *w.Healthy
	in.Enabled = w.Enabled == nil || *w.Enabled
	if in.Metadata, err = param.CheckedMetadata(field+".metadata", w.Metadata); err != nil {
		return in, err
	}
	return in, nil
}

// instance handles InstanceRequest: an instance bound to the connection.
func (d *Door) instance(ctx context.Context, c *conn, body []byte) (any, error) {
	return d.instanceWrite(body, "InstanceRequest", false,
		func(k store.Key, in store.Instance) error {
			_, err := d.leases.Register(ctx, c.id, k, in)
			return err
		},
		func(k store.Key, ik store.InstanceKey) error { return d.leases.Deregister(ctx, c.id, k, ik) })
}

// persistentInstance handles PersistentInstanceRequest: a persistent
// instance, not bound to the connection.
func (d *Door) persistentInstance(ctx context.Context, _ *conn, body []byte) (any, error) {
	return d.instanceWrite(body, "PersistentInstanceRequest", true,
		func(k store.Key, in store.Instance) error {
			_, err := d.core.Register(ctx, k, in)
			return err
		},
		func(k store.Key, ik store.InstanceKey) error { return d.core.Deregister(ctx, k, ik) })
}

// instanceWrite decodes a register or deregister request of type name and
// applies it with register or deregister; deregistering an instance that
// is not there is not an error, as in Nacos.
func (d *Door) instanceWrite(body []byte, name string, persistent bool,
	register func(store.Key, store.Instance) error, deregister func(store.Key, store.InstanceKey) error) (any, error) {
	var req instanceRequest
	if err := decode(body, name, &req); err != nil {
		return nil, err
	}
	k, err := serviceKey(req.namingRequest)
	if err != nil {
		return nil, err
	}
	in, err := instanceOf("instance", req.Instance)
	if err != nil {
		return nil, err
	}
	if persistent {
		in.Ephemeral = false
	}
	switch req.Type {
	case "registerInstance":
		err = register(k, in)
	case "deregisterInstance":
		if err = deregister(k, in.InstanceKey); errors.Is(err, store.ErrNotFound) {
			err = nil
		}
	default:
		return nil, &param.FieldError{Field: "type", Reason: "unsupported request type " + quote(req.Type) + "; want registerInstance or deregisterInstance"}
	}
	if err != nil {
		return nil, err
	}
	return &instanceResponse{response: ok(), Type: req.Type}, nil
}

// batchInstance registers the instances of one service that the
// connection holds, as Nacos does: the batch replaces what the connection
// registered in that service before. Every instance is checked before any
// is written.
func (d *Door) batchInstance(ctx context.Context, c *conn, body []byte) (any, error) {
	var req batchInstanceRequest
	if err := decode(body, "BatchInstanceRequest", &req); err != nil {
		return nil, err
	}
	k, err := serviceKey(req.namingRequest)
	if err != nil {
		return nil, err
	}
	if req.Type != "batchRegisterInstance" {
		return nil, &param.FieldError{Field: "type", Reason: "unsupported request type " + quote(req.Type) + "; want batchRegisterInstance"}
	}
	items := make([]store.RegisterItem, 0, len(req.Instances))
	keep := map[store.InstanceKey]bool{}
	for i, w := range req.Instances {
		in, err := instanceOf(fmt.Sprintf("instances[%d]", i), w)
		if err != nil {
			return nil, err
		}
		items = append(items, store.RegisterItem{Key: k, In: in})
		keep[in.InstanceKey] = true
	}
	// One node write for the batch: applied together, replicated as one
	// delta. A limit that refuses one instance fails the request, as a
	// single registration's would.
	outs, err := d.leases.RegisterMany(ctx, c.id, items)
	var ie *node.ItemError
	var fe *param.FieldError
	if errors.As(err, &ie) && errors.As(ie.Err, &fe) {
		err = &param.FieldError{Field: fmt.Sprintf("instances[%d].%s", ie.Index, fe.Field), Reason: fe.Reason}
	}
	if err != nil {
		return nil, err
	}
	for _, o := range outs {
		if o.Err != nil {
			return nil, o.Err
		}
	}
	for _, ik := range d.leases.HeldIn(c.id, k) {
		if !keep[ik] {
			if err := d.leases.Deregister(ctx, c.id, k, ik); err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
		}
	}
	return &instanceResponse{response: ok(), Type: req.Type}, nil
}

func (d *Door) subscribe(_ context.Context, c *conn, body []byte) (any, error) {
	var req subscribeRequest
	if err := decode(body, "SubscribeServiceRequest", &req); err != nil {
		return nil, err
	}
	k, err := serviceKey(req.namingRequest)
	if err != nil {
		return nil, err
	}
	filter, err := clusterFilter("clusters", req.Clusters)
	if err != nil {
		return nil, err
	}
	snap := d.core.Snapshot(k)
	info := d.serviceInfo(c, snap, req.Clusters, filter, false)
	sub := subKey{k: k, clusters: req.Clusters}
	if req.Subscribe {
		if err := d.hub.subscribe(c, sub, snap.Index); err != nil {
			return nil, err
		}
	} else {
		d.hub.unsubscribe(c, sub)
	}
	return &serviceResponse{response: ok(), ServiceInfo: info}, nil
}

func (d *Door) query(_ context.Context, c *conn, body []byte) (any, error) {
	var req queryRequest
	if err := decode(body, "ServiceQueryRequest", &req); err != nil {
		return nil, err
	}
	k, err := serviceKey(req.namingRequest)
	if err != nil {
		return nil, err
	}
	filter, err := clusterFilter("cluster", req.Cluster)
	if err != nil {
		return nil, err
	}
	info := d.serviceInfo(c, d.core.Snapshot(k), req.Cluster, filter, req.HealthyOnly)
	return &serviceResponse{response: ok(), ServiceInfo: info}, nil
}

// maxPageSize bounds a ServiceListRequest page.
const maxPageSize = 10000

func (d *Door) serviceList(_ context.Context, _ *conn, body []byte) (any, error) {
	var req listRequest
	if err := decode(body, "ServiceListRequest", &req); err != nil {
		return nil, err
	}
	ns, err := param.OptionalName("namespace", req.Namespace, store.DefaultNamespace)
	if err == nil && ns == gate.SystemNamespace {
		err = &param.FieldError{Field: "namespace", Reason: "namespace " + gate.SystemNamespace + " is reserved"}
	}
	if err != nil {
		return nil, err
	}
	group, err := param.OptionalName("groupName", req.GroupName, store.DefaultGroup)
	if err != nil {
		return nil, err
	}
	if req.PageNo < 0 || req.PageSize < 0 || req.PageSize > maxPageSize {
		return nil, &param.FieldError{Field: "pageSize", Reason: fmt.Sprintf("pageNo %d and pageSize %d: want pageNo >= 1 and pageSize in 1-%d", req.PageNo, req.PageSize, maxPageSize)}
	}
	page, size := max(req.PageNo, 1), req.PageSize
	if size == 0 {
		size = 10
	}
	all := d.core.Services(ns, group)
	names := []string{}
	for i := (page - 1) * size; i < len(all) && i < page*size; i++ {
		names = append(names, all[i].Key.Service)
	}
	return &serviceListResponse{response: ok(), Count: len(all), ServiceNames: names}, nil
}

// clusterFilter parses a comma-separated cluster list; nil means every
// cluster.
func clusterFilter(field, s string) (map[string]bool, error) {
	var names []string
	for c := range strings.SplitSeq(s, ",") {
		if strings.TrimSpace(c) == "" {
			continue
		}
		name, err := param.Name(field, strings.TrimSpace(c))
		if err != nil {
			return nil, err
		}
		names = append(names, name)
	}
	if len(names) == 0 {
		return nil, nil
	}
	slices.Sort(names)
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m, nil
}
