package node

import (
	"context"
	"errors"
	"fmt"

	"github.com/roster-io/roster/internal/param"

	"github.com/roster-io/roster/store"
)

// Server-side health checks (package health) run on the owner of a
// service: Owns says which services, and CheckedHealth writes a verdict.

// Owns reports whether this node is responsible for service k: it times
// out its ephemeral instances and checks the health of its persistent
// ones. It turns false the moment ownership moves away.
func (n *Node) Owns(k store.Key) bool { return n.owns(k) }

// Ownership returns a value that changes whenever the set of services
// this node owns may have changed (compare with ==), so the health
// checker rescans only then.
func (n *Node) Ownership() any {
	return [3]any{n.cluster.owning.Load(), n.synced.Load(), n.gossip != nil && n.gossip.Conflicted()}
}

// CheckedHealth writes a health checker's verdict on the persistent
// instance ik of service k, when it changes the instance's health and
// this node still owns the service. The write is replicated like an
// expiry transition: pushed at once, without waiting for a peer. It
// reports whether it wrote.
func (n *Node) CheckedHealth(k store.Key, ik store.InstanceKey, healthy bool) (bool, error) {
	if !n.owns(k) || n.closing.Load() {
		return false, nil
	}
	cur, ok := n.store.Snapshot(k).Find(ik)
	if !ok || cur.Ephemeral || cur.Healthy == healthy {
		return false, nil
	}
	changed := false
	in, err := n.store.Update(k, ik, func(in *store.Instance) {
		changed = !in.Ephemeral && in.Healthy != healthy
		if changed {
			in.Healthy = healthy
		}
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	_ = n.replicate(n.ctx, instanceRecord(k, in), false)
	return changed, nil
}

// HealthSettable says whether a client may set the health of instance ik
// of service k: only a persistent instance whose cluster's checker is
// NONE, as in Nacos. The error (a param.FieldError on "healthy") says
// why not; a missing instance is store.ErrNotFound.
func (n *Node) HealthSettable(k store.Key, ik store.InstanceKey) error {
	snap := n.store.Snapshot(k)
	in, ok := snap.Find(ik)
	if !ok {
		return fmt.Errorf("node: no instance %s:%d in cluster %s of %s: %w", ik.IP, ik.Port, ik.Cluster, k.Grouped(), store.ErrNotFound)
	}
	if in.Ephemeral {
		return &param.FieldError{Field: "healthy", Reason: "the health of an ephemeral instance follows its heartbeats and cannot be set; " +
			"stop its beats, or deregister it"}
	}
	if t := snap.Info.Cluster(ik.Cluster).HealthChecker.Type; t != store.CheckNone {
		return &param.FieldError{Field: "healthy", Reason: fmt.Sprintf("health check is still working (%s) for cluster %s of %s: "+
			"set its healthChecker to {\"type\":\"NONE\"} (PUT /nacos/v1/ns/cluster or PUT /v1/service/cluster) to set health through the API",
			t, ik.Cluster, k.Grouped())}
	}
	return nil
}

// SetHealth sets the health of instance ik where a client may
// (HealthSettable): a client write, acknowledged like any other.
func (n *Node) SetHealth(ctx context.Context, k store.Key, ik store.InstanceKey, healthy bool) error {
	if err := n.HealthSettable(k, ik); err != nil {
		return err
	}
	_, err := n.Update(ctx, k, ik, func(in *store.Instance) { in.Healthy = healthy })
	return err
}
