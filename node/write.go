package node

import (
	"context"
	"errors"
	"fmt"

	"github.com/roster-io/roster/internal/param"
	"github.com/roster-io/roster/store"
)

// The write path. Every front door that changes the registry goes through
// these methods: they refuse writes while the node syncs or leaves, check
// the limits, apply the write here and replicate it, answering once a
// peer holds it, or past ReplicationTimeout as held here alone
// (replicas.go).
//
// Limits: MaxInstancesPerService and MaxInstancesPerNamespace are checked
// atomically with the write on the node that accepts a client's
// registration (or a beat that re-registers), against the instances that
// node holds; replicated writes from peers are never refused, so replicas
// never diverge over a limit. Writes accepted at once by different nodes
// may overshoot by their number. MaxMetadataBytes bounds the metadata of
// every instance and service a client writes.

var (
	// ErrShuttingDown refuses writes while the node leaves.
	ErrShuttingDown = errors.New("node: shutting down")
	// ErrNotReady refuses client requests until the node has synced.
	ErrNotReady = errors.New("node: not ready: syncing the registry from peers")
	// ErrNotReplicated means the client's request ended before any peer
	// confirmed its write; the write stands here and spreads.
	ErrNotReplicated = errors.New("node: request ended before any peer confirmed the write (it stands on this node and spreads)")
)

// checkWritable refuses client writes before sync and during shutdown.
func (n *Node) checkWritable() error {
	if n.closing.Load() {
		return ErrShuttingDown
	}
	if !n.synced.Load() {
		return ErrNotReady
	}
	return nil
}

// Register stores a new registration of in as service k's and returns it
// as stored.
func (n *Node) Register(ctx context.Context, k store.Key, in store.Instance) (store.Instance, error) {
	if err := n.checkWritable(); err != nil {
		return store.Instance{}, err
	}
	if err := n.checkMetadata("metadata", in.Metadata); err != nil {
		return store.Instance{}, err
	}
	in, err := n.store.RegisterWithin(k, in, n.instanceLimits())
	if err != nil {
		return store.Instance{}, limitError(err)
	}
	return in, n.replicate(ctx, instanceRecord(k, in), true)
}

// Deregister removes an instance. When this node holds no live instance
// (it may not have received the registration yet) the tombstone is still
// written and replicated, so the instance stays deleted cluster-wide, and
// the error wraps store.ErrNotFound.
func (n *Node) Deregister(ctx context.Context, k store.Key, ik store.InstanceKey) error {
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

// Update changes an instance in place with fn.
func (n *Node) Update(ctx context.Context, k store.Key, ik store.InstanceKey, fn func(*store.Instance)) (store.Instance, error) {
	if err := n.checkWritable(); err != nil {
		return store.Instance{}, err
	}
	if cur, ok := n.store.Snapshot(k).Find(ik); ok {
		// fn replaces whole fields, so checking it on the current
		// instance checks what it will write.
		fn(&cur)
		if err := n.checkMetadata("metadata", cur.Metadata); err != nil {
			return store.Instance{}, err
		}
	}
	in, err := n.store.Update(k, ik, fn)
	if err != nil {
		return store.Instance{}, err
	}
	return in, n.replicate(ctx, instanceRecord(k, in), true)
}

// CreateService creates service k with info.
func (n *Node) CreateService(ctx context.Context, k store.Key, info store.ServiceInfo) error {
	if err := n.checkMetadata("metadata", info.Metadata); err != nil {
		return err
	}
	return n.writeService(ctx, k, func() (store.ServiceInfo, error) { return n.store.CreateService(k, info) })
}

// UpdateService changes service k's record with fn.
func (n *Node) UpdateService(ctx context.Context, k store.Key, fn func(*store.ServiceInfo)) error {
	probe := store.ServiceInfo{}
	fn(&probe)
	if err := n.checkMetadata("metadata", probe.Metadata); err != nil {
		return err
	}
	return n.writeService(ctx, k, func() (store.ServiceInfo, error) { return n.store.UpdateService(k, fn) })
}

// DeleteService deletes service k, which must have no instances.
func (n *Node) DeleteService(ctx context.Context, k store.Key) error {
	return n.writeService(ctx, k, func() (store.ServiceInfo, error) { return n.store.DeleteService(k) })
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

// instanceLimits are the store limits of client registrations.
func (n *Node) instanceLimits() store.Limits {
	return store.Limits{PerService: n.cfg.MaxInstancesPerService, PerNamespace: n.cfg.MaxInstancesPerNamespace}
}

// limitError names the flag of a store limit error.
func limitError(err error) error {
	switch {
	case errors.Is(err, store.ErrServiceFull):
		return fmt.Errorf("node: %w (--max-instances-per-service)", err)
	case errors.Is(err, store.ErrNamespaceFull):
		return fmt.Errorf("node: %w (--max-instances-per-namespace)", err)
	}
	return err
}

// checkMetadata refuses metadata whose keys and values exceed
// MaxMetadataBytes, naming field.
func (n *Node) checkMetadata(field string, md map[string]string) error {
	total := 0
	for k, v := range md {
		total += len(k) + len(v)
	}
	if total > n.cfg.MaxMetadataBytes {
		return &param.FieldError{Field: field, Reason: fmt.Sprintf("%d bytes of keys and values, over the limit of %d (--max-metadata-bytes)", total, n.cfg.MaxMetadataBytes)}
	}
	return nil
}
