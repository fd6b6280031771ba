package node

import (
	"context"
	"errors"

	"github.com/roster-io/roster/internal/param"
	"github.com/roster-io/roster/store"
)

// The write path. Every API that changes the registry goes through these
// methods: they refuse writes while the node syncs or leaves, apply the
// write here and replicate it, acknowledging only once a peer holds it
// (when there is a peer).

// checkWritable refuses client writes before sync and during shutdown.
func (n *Node) checkWritable() error {
	if n.closing.Load() {
		return errShuttingDown
	}
	if !n.synced.Load() {
		return errNotReady
	}
	return nil
}

// register stores a new registration of in.
func (n *Node) register(ctx context.Context, k store.Key, in store.Instance) (store.Instance, error) {
	if err := n.checkWritable(); err != nil {
		return store.Instance{}, err
	}
	if err := n.checkMetadataSize("metadata", in.Metadata); err != nil {
		return store.Instance{}, err
	}
	in, err := n.store.RegisterWithin(k, in, n.instanceLimits())
	if err != nil {
		return store.Instance{}, limitError(err)
	}
	return in, n.replicate(ctx, instanceRecord(k, in), true)
}

// deregister removes an instance. When this node holds no live instance
// (it may not have received the registration yet) the tombstone is still
// written and replicated, so the instance stays deleted cluster-wide, and
// the error says it was not found.
func (n *Node) deregister(ctx context.Context, k store.Key, ik store.InstanceKey) error {
	if err := n.checkWritable(); err != nil {
		return err
	}
	t, err := n.store.Deregister(k, ik)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if rerr := n.replicate(ctx, instanceRecord(k, t), true); rerr != nil {
		return rerr
	}
	return err
}

// update changes an instance in place.
func (n *Node) update(ctx context.Context, k store.Key, ik store.InstanceKey, fn func(*store.Instance)) (store.Instance, error) {
	if err := n.checkWritable(); err != nil {
		return store.Instance{}, err
	}
	in, err := n.store.Update(k, ik, fn)
	if err != nil {
		return store.Instance{}, err
	}
	return in, n.replicate(ctx, instanceRecord(k, in), true)
}

// writeService applies a service-record write and replicates it.
func (n *Node) writeService(ctx context.Context, k store.Key, write func() (store.ServiceInfo, error)) error {
	if err := n.checkWritable(); err != nil {
		return err
	}
	info, err := write()
	if err != nil {
		return err
	}
	return n.replicate(ctx, serviceRecord(k, info), true)
}

// checkedMetadata applies the metadata limits to metadata that arrived
// already decoded (in a JSON body).
func checkedMetadata(field string, md map[string]string) (map[string]string, error) {
	if md == nil {
		return map[string]string{}, nil
	}
	if err := param.CheckMetadata(field, md); err != nil {
		return nil, err
	}
	return md, nil
}
