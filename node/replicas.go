package node

import (
	"context"
	"sync/atomic"
)

// How many nodes hold a client's write when it is answered. A write is
// applied on the node that takes it and pushed to every peer; the answer
// waits until one peer confirms it, for at most ReplicationTimeout. If no
// peer confirms it in time (this node is cut off from all of them), the
// write still stands here and spreads as soon as a peer is reachable
// (replication, then anti-entropy), so it is answered as done, with the
// count saying it is on one node only: a front door that attaches
// Replicas to a request's context (TrackReplicas) can tell the client, as
// the HTTP doors do with the X-Roster-Replicas header.

// Replicas records, for one client request, how many nodes held its write
// when it was answered: 1 (this node only), or 2 (this node and at least
// the peer that confirmed it first). 0: no write was replicated.
type Replicas struct{ n atomic.Int32 }

type replicasKey struct{}

// TrackReplicas returns ctx carrying a fresh Replicas.
func TrackReplicas(ctx context.Context) (context.Context, *Replicas) {
	r := &Replicas{}
	return context.WithValue(ctx, replicasKey{}, r), r
}

// Count returns what the write path recorded.
func (r *Replicas) Count() int { return int(r.n.Load()) }

// noteReplicas records n in ctx's Replicas, if any, keeping the smallest
// count of a request that made several writes.
func noteReplicas(ctx context.Context, n int32) {
	r, ok := ctx.Value(replicasKey{}).(*Replicas)
	if !ok {
		return
	}
	for {
		cur := r.n.Load()
		if cur != 0 && cur <= n || r.n.CompareAndSwap(cur, n) {
			return
		}
	}
}
