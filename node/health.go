package node

import (
	"errors"

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
