package node

import (
	"context"
	"time"

	"github.com/roster-io/roster/peer"
	"github.com/roster-io/roster/store"
)

// Replication. Every write is pushed at once to every other live member
// as a versioned delta (the records it wrote) through the transport. A
// client write is answered once at least one peer confirmed it, whenever
// there is a peer, so it then lives on two nodes; when none confirms it
// within ReplicationTimeout it is answered as held by this node alone
// (replicas.go). Deltas that fail are left to anti-entropy.

// replicate pushes recs to every peer. With wait it returns once one peer
// confirmed them or, past the replication timeout, once it has recorded
// that only this node holds them; it fails only if ctx ends first, or if
// a record the durable log keeps could not reach this node's disk first
// (durable.go).
func (n *Node) replicate(ctx context.Context, recs []store.Record, wait bool) error {
	if len(recs) == 0 {
		return nil
	}
	if !wait {
		if n.peers.Peers() > 0 {
			n.peers.Broadcast(recs)
		}
		return nil
	}
	// A client's write waits for room in a full queue, up to the
	// replication timeout, rather than leaving the peer to anti-entropy:
	// writers slow down to what the slowest peer takes.
	start := time.Now()
	var acks *peer.Acks
	if n.peers.Peers() > 0 {
		acks = n.peers.BroadcastWait(ctx, n.cfg.ReplicationTimeout, recs)
	}
	if err := n.persist(ctx, recs); err != nil {
		return err
	}
	switch {
	case acks == nil:
		noteReplicas(ctx, 1)
		return nil
	case acks.First(ctx, max(n.cfg.ReplicationTimeout-time.Since(start), time.Millisecond)):
		noteReplicas(ctx, 2)
		return nil
	case ctx.Err() != nil:
		return ErrNotReplicated
	}
	noteReplicas(ctx, 1)
	n.stats.writesUnconfirmed.Add(1)
	n.warns.Warn(n.log, time.Now(), "write not confirmed by any peer in time: it is held here only and spreads when a peer is reachable",
		"timeout", n.cfg.ReplicationTimeout)
	return nil
}

// Merge applies records from a peer (peer.Receiver). An expiry decision
// about an instance a client beat here within its timeout is refused and
// the instance re-asserted; the re-assertions are replicated. With fresh
// (replicated writes, not repairs) the lag of each record applied is
// observed.
func (n *Node) Merge(recs []store.Record, fresh bool) int {
	applied := 0
	var reasserted []store.Record
	now := n.cfg.Now().UnixNano()
	for _, r := range recs {
		if n.fromTheFuture(r, now) {
			continue
		}
		switch {
		case r.Instance != nil:
			ok, re := n.store.MergeGuarded(r.Key, *r.Instance, true)
			if ok {
				applied++
				if fresh {
					n.lag.observe(r.Instance.Version.Clock, now)
				}
			}
			if re != nil {
				reasserted = append(reasserted, store.Record{Key: r.Key, Instance: re})
				n.log.Debug("re-asserted instance against a peer's record", "service", r.Key.String(),
					"instance", re.ID(r.Key), "deleted", re.Deleted, "healthy", re.Healthy,
					"refused_version", r.Instance.Version.Node, "refused_expired", r.Instance.Expired, "refused_deleted", r.Instance.Deleted)
			}
		case r.Service != nil:
			if n.store.MergeService(r.Key, *r.Service) {
				applied++
				if fresh {
					n.lag.observe(r.Service.Version.Clock, now)
				}
			}
		}
	}
	if len(reasserted) > 0 {
		n.log.Info("re-asserted beating instances against remote expiry", "count", len(reasserted))
		_ = n.replicate(n.ctx, reasserted, false)
	}
	return applied
}

// fromTheFuture reports whether r's version is stamped further ahead of
// this node's clock than MaxClockSkew, and if so counts and logs it. Such
// a record (from a peer whose clock runs ahead, or a forged one) is not
// merged: the hybrid clock would adopt its time, every later version of
// this node would look newer than it is, and anti-entropy would take
// fresh differences for deltas still in flight until the wall clock
// caught up. It is accepted once it is no longer that far ahead.
func (n *Node) fromTheFuture(r store.Record, now int64) bool {
	var v store.Version
	switch {
	case r.Instance != nil:
		v = r.Instance.Version
	case r.Service != nil:
		v = r.Service.Version
	}
	ahead := time.Duration(v.Clock - now)
	if ahead <= n.cfg.MaxClockSkew {
		return false
	}
	n.stats.futureRefused.Add(1)
	n.warns.Warn(n.log, time.Unix(0, now), "refused a record stamped ahead of this node's clock by more than --max-clock-skew",
		"service", r.Key.String(), "version_node", v.Node, "ahead", ahead.Round(time.Millisecond), "max", n.cfg.MaxClockSkew)
	return true
}

// Member returns the live member named name, other than this node
// (peer.Receiver).
func (n *Node) Member(name string) (peer.Member, bool) {
	m, ok := n.cluster.member(name)
	return m.Member, ok
}

// Store returns the node's registry. Front doors read snapshots through
// the methods of Node; the transport's endpoints and tests read it
// directly.
func (n *Node) Store() *store.Store { return n.store }

// PartitionCount returns the ring's number of partitions.
func (n *Node) PartitionCount() int { return n.ring.PartitionCount() }

// instanceRecord wraps an instance as a record.
func instanceRecord(k store.Key, in store.Instance) []store.Record {
	return []store.Record{{Key: k, Instance: &in}}
}

// serviceRecord wraps a service record.
func serviceRecord(k store.Key, info store.ServiceInfo) []store.Record {
	return []store.Record{{Key: k, Service: &info}}
}
