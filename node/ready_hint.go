package node

import (
	"context"

	"github.com/roster-io/roster/peer"
	"sync"
	"time"
)

// Readiness travels by gossip (the ready flag in a member's metadata), and
// the ring only counts ready members. Under load gossip can take seconds to
// reach every node, and meanwhile a node that has not heard keeps owning
// partitions the newcomer already owns: it hears none of their beats
// (peers hand them to the newcomer) and times out live instances (found by
// the chaos suite's churn scenario). So a node that becomes ready also
// tells every peer directly, and a peer counts the hint as the ready flag
// until gossip catches up, for at most readyHintTTL.

// readyHintTTL bounds how long a hint stands in for gossip.
const readyHintTTL = 10 * time.Second

// readyHints are members that said they are ready before gossip did.
type readyHints struct {
	mu sync.Mutex
	m  map[string]readyHint
}

type readyHint struct {
	epoch int64
	at    time.Time
}

// set records that the member name, in its incarnation epoch, is ready.
func (h *readyHints) set(name string, epoch int64, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.m == nil {
		h.m = map[string]readyHint{}
	}
	h.m[name] = readyHint{epoch: epoch, at: now}
}

// ready returns whether member name counts as ready: gossip says so (the
// hint is then dropped), or a hint for the same incarnation is recent.
func (h *readyHints) ready(name string, epoch int64, gossipReady bool, now time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	hint, ok := h.m[name]
	if gossipReady || (ok && (hint.epoch != epoch || now.Sub(hint.at) >= readyHintTTL)) {
		delete(h.m, name)
		return gossipReady
	}
	return ok
}

// announceReady tells every peer this node is ready, in parallel, and
// waits for the answers (each bounded by the peer timeout).
func (n *Node) announceReady() {
	var wg sync.WaitGroup
	for _, m := range n.cluster.memberList() {
		if m.Self || m.HTTPAddr == "" {
			continue
		}
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(n.ctx, n.cfg.PeerTimeout)
			defer cancel()
			if err := n.peers.AnnounceReady(ctx, m.Member); err != nil {
				n.log.Debug("ready hint not delivered; gossip will tell", "peer", m.Name, "err", err)
			}
		})
	}
	wg.Wait()
}

// PeerReady records that member m told this node it became ready
// (peer.Receiver).
func (n *Node) PeerReady(m peer.Member) {
	n.readyHints.set(m.Name, m.Epoch, n.cfg.Now())
	n.kickMembership()
}
