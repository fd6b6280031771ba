package node

import (
	"context"
	"time"

	"github.com/roster-io/roster/peer"
	"github.com/roster-io/roster/store"
)

// A node restarted at once may find that some peers never took its
// partitions over: memberlist refutes the old incarnation's state with a
// new one, and a peer that hears of the restart only once the new
// incarnation says "ready" goes on treating the partitions as this node's.
// No member then reports them to it, so awaitReports waits for reports
// that never come and the takeover would give their instances a full
// fresh timeout from the return (a removal a whole delete timeout late,
// found by TestCluster_silentInstanceExpiresDespiteOwnerRestarts under
// load). The peers still hold the last report the former incarnation sent
// them; the node asks the peer it synced from for it
// (peer.Transport.HeldHeard) and its first takeover reads a partition from
// it when it holds no usable report from the partition's owner before.
// The former incarnation vouched for its report until it died, which was
// before this process started, so the report's last hold is bounded by
// the start of the sync; any beat another node heard of those partitions
// in between makes the former report err towards an earlier expiry, which
// the takeover grace covers as it does for any owner's report (a listed
// instance gets one beat interval, an unlisted one a beat timeout).

// HeldHeard returns the last report this node holds from member name, by
// partition (peer.Receiver).
func (n *Node) HeldHeard(name string) map[int]*store.Hint {
	return n.heard.held(name, n.cfg.Now(), n.heardHintTTL())
}

// held returns the partitions whose last report came from name, as a
// takeover at now would read them; none if this node saw name leave the
// cluster: then it was down long enough for its partitions to be taken
// over, and their new owners report them.
func (h *heardHints) held(name string, now time.Time, ttl time.Duration) map[int]*store.Hint {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[int]*store.Hint{}
	if _, left := h.gone[name]; left {
		return out
	}
	for p, ph := range h.parts {
		if ph.from == name && now.Sub(ph.seen) <= ttl {
			out[p] = hintOf(ph, time.Time{}, false, now, ttl)
		}
	}
	return out
}

// fetchPrevious asks m for the report it holds from this node's former
// incarnation and keeps it for the first takeover, each partition's last
// hold bounded by since (when this incarnation began to sync). A peer
// that cannot tell (an older build, or none held) leaves none.
func (n *Node) fetchPrevious(m Member, since time.Time) {
	ctx, cancel := context.WithTimeout(n.ctx, n.cfg.SyncTimeout)
	defer cancel()
	hints, err := n.peers.HeldHeard(ctx, m.Member, n.ring.PartitionCount())
	if err != nil {
		n.log.Info("no last-heard report of this node's former incarnation", "peer", m.Name, "err", err)
		return
	}
	for _, h := range hints {
		if h.Until.After(since) {
			h.Until = since
		}
	}
	n.heard.setPrevious(hints)
	if len(hints) > 0 {
		n.log.Info("held the last-heard report of this node's former incarnation", "peer", m.Name, "partitions", len(hints))
	}
}

// setPrevious keeps hints as the former incarnation's report.
func (h *heardHints) setPrevious(hints map[int]*store.Hint) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.previous = hints
}

// dropPrevious forgets the former incarnation's report once the first
// takeover read it: later takeovers are from other owners.
func (h *heardHints) dropPrevious() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.previous = nil
}

var _ peer.Receiver = (*Node)(nil)
