package node

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/roster-io/roster/store"
)

// The read side of the interface the front doors use. Reads answer from
// immutable snapshots (store.Snapshot), so a hot list is a map lookup; a
// blocking query waits on the service's change channel.

// Snapshot returns the current snapshot of service k.
func (n *Node) Snapshot(k store.Key) *store.Snapshot { return n.store.Snapshot(k) }

// Services returns the services of namespace ns (and group, unless
// empty), sorted.
func (n *Node) Services(ns, group string) []store.Summary { return n.store.Services(ns, group) }

// AllServices returns the key of every existing service, in no order
// (the DNS door's case-insensitive lookup and whole-registry views).
func (n *Node) AllServices() []store.Key { return n.store.AllServices() }

// Index returns the registry's global change index.
func (n *Node) Index() uint64 { return n.store.Index() }

// Counts returns the number of services and live instances held.
func (n *Node) Counts() (services, instances int) { return n.store.Stats() }

// Changed returns a channel closed at the registry's next change.
func (n *Node) Changed() <-chan struct{} { return n.store.Changed() }

// WaitChange blocks until service k's change index passes index, wait
// (plus up to 1/16 jitter, so watchers do not return in lockstep)
// elapses, ctx ends or the node leaves, and returns the latest snapshot.
// A watcher of a service that does not exist is woken only when that
// service appears (store.Watch), not by changes elsewhere.
func (n *Node) WaitChange(ctx context.Context, k store.Key, index uint64, wait time.Duration) *store.Snapshot {
	if wait > 0 {
		wait += rand.N(wait/16 + 1)
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		snap, release := n.store.Watch(k)
		if snap.Tracked && snap.Index > index {
			release()
			return snap
		}
		select {
		case <-snap.Changed():
			release()
		case <-timer.C:
			release()
			return n.store.Snapshot(k)
		case <-ctx.Done():
			release()
			return snap
		case <-n.waits.Done():
			release()
			return snap
		}
	}
}

// LastBeats returns when this node last heard of each live ephemeral
// instance of service k (store.LastBeats): the last beat, where this node
// owns k. now is the node's clock, which those times are read on.
func (n *Node) LastBeats(k store.Key) (beats map[store.InstanceKey]time.Time, now time.Time) {
	return n.store.LastBeats(k), n.cfg.Now()
}

// OwnerLastBeats returns the beat times of service k's live ephemeral
// instances as its owner knows them (LastBeats there), with the owner's
// clock and name: from this node's store when it owns k, else asked of the
// owner through the transport, within ctx.
func (n *Node) OwnerLastBeats(ctx context.Context, k store.Key) (map[store.InstanceKey]time.Time, time.Time, string, error) {
	if n.owns(k) {
		beats, now := n.LastBeats(k)
		return beats, now, n.cfg.Name, nil
	}
	o, ok := n.Owner(k)
	if !ok {
		return nil, time.Time{}, "", fmt.Errorf("node: last beats of %s: no owner known", k)
	}
	m, ok := n.Member(o.Name)
	if !ok {
		return nil, time.Time{}, o.Name, fmt.Errorf("node: last beats of %s: owner %s is not a live peer", k, o.Name)
	}
	beats, now, err := n.peers.LastBeats(ctx, m, k)
	if err != nil {
		return nil, time.Time{}, o.Name, fmt.Errorf("node: last beats of %s from %s: %w", k, o.Name, err)
	}
	return beats, now, o.Name, nil
}

// Namespaces returns the namespaces holding services, with their number of
// services.
func (n *Node) Namespaces() map[string]int { return n.store.Namespaces() }

// WaitIndex blocks until the registry's global index passes index, wait
// (plus up to 1/16 jitter) elapses, ctx ends or the node leaves, and
// returns the index then.
func (n *Node) WaitIndex(ctx context.Context, index uint64, wait time.Duration) uint64 {
	if wait > 0 {
		wait += rand.N(wait/16 + 1)
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		changed := n.store.Changed()
		if cur := n.store.Index(); cur > index {
			return cur
		}
		select {
		case <-changed:
		case <-timer.C:
			return n.store.Index()
		case <-ctx.Done():
			return n.store.Index()
		case <-n.waits.Done():
			return n.store.Index()
		}
	}
}
