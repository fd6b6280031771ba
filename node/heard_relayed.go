package node

import (
	"context"
	"time"

	"github.com/roster-io/roster/peer"
	"github.com/roster-io/roster/store"
)

// Relayed reports. A node turning ready takes its partitions over from the
// reports their owners sent it while it synced (awaitReports). Two cases
// left it without one, and gave the partitions' instances a full fresh
// timeout from its return (a removal a whole delete timeout late, found by
// TestCluster_silentInstanceExpiresDespiteOwnerRestarts under load):
//
//   - Restarted at once, before its peers noticed the death, it may find
//     that some never took its partitions over: memberlist refutes the
//     old incarnation's state with the new one, and a peer that first
//     hears of the restart when the new incarnation already says ready
//     goes on treating the partitions as this node's. Nobody reports them.
//   - An owner's report can come later than the node waits for it.
//
// The peer it synced from holds the last report of every partition, its
// former incarnation's among them, so the node asks it for them
// (peer.Transport.HeldHeard) and its first takeover reads a partition from
// that copy when it holds no usable report of its own from the partition's
// owner before: the copy of that owner's report, or its former
// incarnation's. The former incarnation vouched for its report until it
// died, before this process started, so that report's last hold is
// bounded by the start of the sync. Beats another node heard of such a
// partition since can only make the copy err towards an earlier expiry,
// which the takeover grace covers as it does for any report (a listed
// instance gets one beat interval, an unlisted one a beat timeout). A peer
// that saw the node leave answers none of its former reports: its
// partitions were then taken over, and their new owners report them.

// HeldHeard returns the last report this node holds of each partition,
// for member asker (peer.Receiver).
func (n *Node) HeldHeard(asker string) map[int]peer.Held {
	return n.heard.held(asker, n.cfg.Now(), n.heardHintTTL())
}

// held returns each partition's last report not older than ttl, as a
// takeover at now would read it, leaving out asker's own if this node saw
// asker leave the cluster.
func (h *heardHints) held(asker string, now time.Time, ttl time.Duration) map[int]peer.Held {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[int]peer.Held{}
	_, askerLeft := h.gone[asker]
	for p, ph := range h.parts {
		if now.Sub(ph.seen) > ttl || (ph.from == asker && askerLeft) {
			continue
		}
		gone, left := h.gone[ph.from]
		out[p] = peer.Held{From: ph.from, Hint: hintOf(ph, gone, left, now, ttl)}
	}
	return out
}

// fetchRelayed asks m for the reports it holds and keeps them for the
// first takeover, the last hold of this node's former incarnation's
// bounded by since (when this incarnation began to sync). A peer that
// cannot tell (an older build) leaves none.
func (n *Node) fetchRelayed(m Member, since time.Time) {
	ctx, cancel := context.WithTimeout(n.ctx, n.cfg.SyncTimeout)
	defer cancel()
	held, err := n.peers.HeldHeard(ctx, m.Member, n.ring.PartitionCount())
	if err != nil {
		n.log.Info("no copy of the last-heard reports from the peer synced from", "peer", m.Name, "err", err)
		return
	}
	former := 0
	for _, r := range held {
		if r.From == n.cfg.Name {
			former++
			if r.Hint.Until.After(since) {
				r.Hint.Until = since
			}
		}
	}
	n.heard.setRelayed(n.cfg.Name, held)
	n.log.Info("copied the last-heard reports of the peer synced from", "peer", m.Name,
		"partitions", len(held), "former_incarnation", former)
}

// setRelayed keeps held, copied from a peer by this node (self).
func (h *heardHints) setRelayed(self string, held map[int]peer.Held) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.self, h.relayed = self, held
}

// dropRelayed forgets the copied reports once the first takeover read
// them: later takeovers have this node's own.
func (h *heardHints) dropRelayed() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.relayed = nil
}

// relayedFor returns the copied report of p a takeover from its owner
// before (prev; nil: any) may read: that owner's, or this node's former
// incarnation's. h.mu is held.
func (h *heardHints) relayedFor(prev func(p int) string, p int) *store.Hint {
	r, ok := h.relayed[p]
	if !ok || (r.From != h.self && prev != nil && prev(p) != r.From) {
		return nil
	}
	return r.Hint
}

// coveredByRelayed reports whether the takeover can read p, owned now by
// o, from a copied report: o's own, or the former incarnation's when o
// has reported without claiming p (it did not take p over, and will send
// no report of it). claimed tells what o's last report claims. h.mu is
// held.
func (h *heardHints) coveredByRelayed(p int, o string, claimed func(o string, p int) (reported, claims bool)) bool {
	r, ok := h.relayed[p]
	switch {
	case !ok:
		return false
	case r.From == o:
		return true
	case r.From != h.self:
		return false
	}
	reported, claims := claimed(o, p)
	return reported && !claims
}
