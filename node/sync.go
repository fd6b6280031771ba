package node

import (
	"context"
	"math/rand/v2"
	"time"
)

// Start-up sync. A node starts with empty memory, so before it serves
// clients or owns anything it pulls the whole registry from a synced peer.
// It answers client requests with 503 and the reason until then. When no
// peer is synced (the first node, or a whole cluster starting together)
// it waits SyncGrace for one to appear and then starts on its own.

// runSync pulls the registry from a peer, then marks the node synced.
func (n *Node) runSync() {
	start := time.Now()
	alone := time.Time{}
	for n.ctx.Err() == nil {
		if n.gossip.Conflicted() {
			// Peers still know this name at an older address and send
			// its traffic there; pull only once they accept this one.
			select {
			case <-n.ctx.Done():
				return
			case <-time.After(n.cfg.SyncRetry):
			}
			continue
		}
		var ready []Member
		others := 0
		for _, m := range n.cluster.memberList() {
			if m.Self {
				continue
			}
			others++
			if m.Ready && m.HTTPAddr != "" {
				ready = append(ready, m)
			}
		}
		rand.Shuffle(len(ready), func(i, j int) { ready[i], ready[j] = ready[j], ready[i] })
		for _, m := range ready {
			if err := n.pull(m); err != nil {
				n.warns.Warn(n.log, time.Now(), "sync from peer failed", "peer", m.Name, "err", err)
				continue
			}
			n.fetchRelayed(m, start)
			n.awaitReports()
			n.markSynced("synced from "+m.Name, start)
			return
		}
		if why, ok := n.startAlone(len(ready), others, start, &alone); ok {
			n.markSynced(why, start)
			return
		}
		select {
		case <-n.ctx.Done():
			return
		case <-time.After(n.cfg.SyncRetry):
		}
	}
}

// startAlone decides whether a node that found no peer to pull from
// starts on its own, and why. A node not given seeds starts at once when
// alone. A node given seeds waits until one of them answers: seeds that
// refuse it (another gossip key) never let it start, and seeds that stay
// silent let it start a new cluster only after JoinTimeout. Once joined,
// it starts on its own when no peer is ready for SyncGrace (a whole
// cluster starting together).
func (n *Node) startAlone(ready, others int, start time.Time, alone *time.Time) (string, bool) {
	now := time.Now()
	switch {
	case len(n.cfg.Join) == 0 && others == 0:
		return "no peers: starting a new cluster", true
	case len(n.cfg.Join) > 0 && !n.gossip.Joined():
		if reason := n.gossip.JoinRefused(); reason != "" {
			n.warns.Warn(n.log, now, "the seeds refuse this node (another --gossip-key?); it stays not ready", "reason", reason)
			return "", false
		}
		if now.Sub(start) < n.cfg.JoinTimeout {
			return "", false
		}
		n.log.Warn("no seed answered within the join timeout: starting a new cluster", "seeds", n.cfg.Join,
			"join_timeout", n.cfg.JoinTimeout)
		return "seeds silent: starting a new cluster", true
	case ready == 0:
		if alone.IsZero() {
			*alone = now
		}
		return "no synced peer appeared: starting on my own", now.Sub(*alone) >= n.cfg.SyncGrace
	}
	*alone = time.Time{}
	return "", false
}

// pull fetches every record from m and merges it.
func (n *Node) pull(m Member) error {
	ctx, cancel := context.WithTimeout(n.ctx, n.cfg.SyncTimeout)
	defer cancel()
	recs, err := n.peers.Dump(ctx, m.Member)
	if err != nil {
		return err
	}
	now := n.cfg.Now().UnixNano()
	for _, r := range recs {
		if n.fromTheFuture(r, now) {
			continue
		}
		switch {
		case r.Instance != nil:
			n.store.Merge(r.Key, *r.Instance)
		case r.Service != nil:
			n.store.MergeService(r.Key, *r.Service)
		}
	}
	n.log.Info("registry pulled", "peer", m.Name, "records", len(recs))
	return nil
}

// markSynced makes the node ready, publishes it, and takes part in
// ownership. A node restarted on new ports waits first until its peers
// accept the new address: until then they still send its traffic to the
// old one.
func (n *Node) markSynced(why string, start time.Time) {
	for n.gossip.Conflicted() {
		select {
		case <-n.ctx.Done():
			return
		case <-time.After(n.cfg.SyncRetry):
		}
	}
	n.synced.Store(true)
	if err := n.gossip.SetReady(true); err != nil {
		n.log.Error("publish readiness", "err", err)
	}
	n.kickMembership()
	n.log.Info("node ready", "why", why, "after", time.Since(start).Round(time.Millisecond))
	n.announceReady()
}
