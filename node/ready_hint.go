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

// readyHintTTL bounds how long a hint stands in for gossip: longer than
// two full state exchanges of the lan profile (push-pull every 15 s), so
// gossip has caught up before a hint lapses.
const readyHintTTL = 40 * time.Second

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
// waits for the answers. A peer that refuses (it does not know this node
// yet: gossip told this node of it first) is asked again, as a late hint
// is: otherwise it leaves this node out of its ring until gossip's next
// full exchange, naming other owners than everyone else for seconds.
func (n *Node) announceReady() {
	var wg sync.WaitGroup
	for _, m := range n.cluster.memberList() {
		if m.Self || m.HTTPAddr == "" {
			continue
		}
		wg.Go(func() { n.hint(m.Name) })
	}
	wg.Wait()
}

// A member this node learns of after it became ready missed its
// announcement, and gossip may not tell it either: the ready flag travels
// as a metadata update, which a member that joins just after it was
// broadcast only learns at its next full state exchange (push-pull, every
// 15 s on a LAN). Meanwhile the newcomer leaves this node out of its ring
// and names other owners than everyone else (seen for 6-10 s in a five-node
// start). So a ready node also tells each member it learns of later.

// hintTries bounds the attempts at one late ready hint, and hintRetry
// spaces them: the newcomer refuses it until it knows this node.
const (
	hintTries = 5
	hintRetry = 200 * time.Millisecond
)

// kickHint queues a ready hint for member name. It never blocks: with the
// queue full, gossip's next full exchange tells the member.
func (n *Node) kickHint(name string) {
	select {
	case n.hints <- name:
	default:
	}
}

// maxHintsInFlight bounds the late ready hints sent at once.
const maxHintsInFlight = 16

// runHints sends the queued ready hints until the node stops, each in a
// goroutine of its own (up to maxHintsInFlight): one member that keeps
// refusing must not hold up the hints to the others learnt at once.
func (n *Node) runHints() {
	sem := make(chan struct{}, maxHintsInFlight)
	for {
		select {
		case <-n.ctx.Done():
			return
		case name := <-n.hints:
			select {
			case <-n.ctx.Done():
				return
			case sem <- struct{}{}:
			}
			n.wg.Go(func() {
				defer func() { <-sem }()
				n.hint(name)
			})
		}
	}
}

// hint tells member name that this node is ready, retrying while it
// refuses (it may not know this node yet).
func (n *Node) hint(name string) {
	for try := range hintTries {
		if try > 0 && !n.sleep(hintRetry) {
			return
		}
		m, ok := n.cluster.member(name)
		if !ok || m.HTTPAddr == "" {
			return
		}
		ctx, cancel := context.WithTimeout(n.ctx, n.cfg.PeerTimeout)
		err := n.peers.AnnounceReady(ctx, m.Member)
		cancel()
		if err == nil {
			return
		}
		n.log.Debug("late ready hint not delivered", "peer", name, "try", try+1, "err", err)
		if try == 0 {
			n.introduce(m.Member)
		}
	}
}

// introduce makes member m learn of this node by a direct gossip state
// exchange. A member refuses a ready hint from a node it does not know,
// and epidemic gossip can miss it: an alive message is retransmitted a few
// times to random members, and a dropped datagram or an unlucky draw
// leaves the member ignorant until its next periodic full exchange (seen
// for 6 s in a five-node start under -race, with every node ready).
func (n *Node) introduce(m peer.Member) {
	if n.gossip == nil || m.GossipAddr == "" {
		return
	}
	if err := n.gossip.Introduce(m.GossipAddr); err != nil {
		n.log.Debug("gossip introduction failed", "peer", m.Name, "err", err)
	}
}

// PeerReady records that member m told this node it became ready
// (peer.Receiver).
func (n *Node) PeerReady(m peer.Member) {
	n.readyHints.set(m.Name, m.Epoch, n.cfg.Now())
	n.kickMembership()
}
