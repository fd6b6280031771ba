package node

import (
	"context"
	"net/http"
	"time"

	"github.com/roster-io/roster/store"
)

// Replication. Every write is pushed at once to every other live member
// as a versioned delta (the records it wrote); each peer's queue batches
// what piles up while a request is in flight. A client write is
// acknowledged only once at least one peer confirmed it, whenever there
// is a peer, so an acknowledged write lives on two nodes. Deltas that fail
// are left to anti-entropy.

// deltasRequest is the body of POST /internal/v1/deltas.
type deltasRequest struct {
	Records []store.Record `json:"records"`
	// Repair marks records pushed by anti-entropy rather than replicated
	// writes; they do not count in the replication metrics.
	Repair bool `json:"repair,omitempty"`
}

// deltasReply answers it.
type deltasReply struct {
	Applied int `json:"applied"`
}

// replicate pushes recs to every peer. With wait it returns once one peer
// confirmed them, or errNotReplicated after the replication timeout.
func (n *Node) replicate(ctx context.Context, recs []store.Record, wait bool) error {
	if len(recs) == 0 || n.cluster == nil {
		return nil
	}
	peers := n.cluster.peerList()
	if len(peers) == 0 {
		return nil
	}
	done := make(chan batchResult[struct{}], len(peers))
	queued := 0
	for _, p := range peers {
		if p.deltas.enqueue(recs, done) {
			queued++
		} else {
			n.log.Warn("replication queue full; anti-entropy will repair", "peer", p.Name)
		}
	}
	if !wait {
		return nil
	}
	timer := time.NewTimer(n.cfg.ReplicationTimeout)
	defer timer.Stop()
	for queued > 0 {
		select {
		case r := <-done:
			if r.err == nil {
				return nil
			}
			queued--
		case <-timer.C:
			return errNotReplicated
		case <-ctx.Done():
			return errNotReplicated
		}
	}
	return errNotReplicated
}

// sendDeltas sends one batch of deltas to m.
func (n *Node) sendDeltas(ctx context.Context, m member, batch [][]store.Record) ([]struct{}, error) {
	var req deltasRequest
	for _, recs := range batch {
		req.Records = append(req.Records, recs...)
	}
	n.stats.deltaBatches.Add(1)
	n.stats.deltaWrites.Add(uint64(len(batch)))
	n.stats.deltaRecords.Add(uint64(len(req.Records)))
	if err := n.peers.call(ctx, m.Name, m.HTTPAddr, http.MethodPost, "/internal/v1/deltas", &req, nil); err != nil {
		n.stats.deltaFailures.Add(1)
		return nil, err
	}
	return make([]struct{}, len(batch)), nil
}

// merge applies records from a peer. An expiry decision about an instance
// a client beat here within its timeout is refused and the instance
// re-asserted; the re-assertions are replicated. With fresh (replicated
// writes, not repairs) the lag of each record applied is observed.
func (n *Node) merge(recs []store.Record, fresh bool) int {
	applied := 0
	var reasserted []store.Record
	now := n.cfg.Now().UnixNano()
	for _, r := range recs {
		switch {
		case r.Instance != nil:
			ok, re := n.store.MergeGuarded(r.Key, *r.Instance, true)
			if ok {
				applied++
				if fresh {
					n.metrics.observeLag(r.Instance.Version.Clock, now)
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
					n.metrics.observeLag(r.Service.Version.Clock, now)
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

// instanceRecord wraps an instance as a record.
func instanceRecord(k store.Key, in store.Instance) []store.Record {
	return []store.Record{{Key: k, Instance: &in}}
}

// serviceRecord wraps a service record.
func serviceRecord(k store.Key, info store.ServiceInfo) []store.Record {
	return []store.Record{{Key: k, Service: &info}}
}
