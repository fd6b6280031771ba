package node

import (
	"cmp"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/roster-io/roster/peer"
	"github.com/roster-io/roster/ring"
	"github.com/roster-io/roster/store"
)

// Membership and ownership. memberlist (package gossip) tells which nodes
// are alive; each node publishes its HTTP address, boot epoch and whether
// it has synced. The ring holds the synced members only, so a node that
// has just (re)started owns nothing until it holds the registry. One
// goroutine applies membership events: it rebuilds the ring, makes the
// transport's queues match the members, and gives every instance of a
// service this node has just taken over a full fresh timeout.

// Member is this node's view of one cluster member.
type Member struct {
	peer.Member
	Ready bool // synced: in the ring
	Self  bool // this node
}

// cluster holds the membership view. It is safe for concurrent use.
type cluster struct {
	self string
	ring *ring.Ring

	// owning is the set of partitions this node sweeps, indexed by
	// partition. It is published only after the instances of newly gained
	// partitions got a fresh timeout, so a new owner never sweeps with a
	// stale last-beat time.
	owning atomic.Pointer[[]bool]

	// mu guards members and owned.
	mu      sync.Mutex
	members map[string]Member
	owned   map[int]bool
}

// memberList returns every known live member, sorted by name.
func (c *cluster) memberList() []Member {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Member, 0, len(c.members))
	for _, m := range c.members {
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b Member) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// nameAt returns the member using gossip address addr.
func (c *cluster) nameAt(addr string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.members {
		if m.GossipAddr == addr {
			return m.Name, true
		}
	}
	return "", false
}

// member returns the live member named name, other than this node.
func (c *cluster) member(name string) (Member, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok := c.members[name]
	return m, ok && !m.Self
}

// ownerOf returns the owner of service k, or false when the ring is empty.
func (c *cluster) ownerOf(k store.Key) (Member, bool) {
	m, ok := c.ring.Owner(k.String())
	if !ok {
		return Member{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	mm, ok := c.members[m.Name]
	if !ok {
		mm = Member{Member: peer.Member{Name: m.Name, HTTPAddr: m.Addr, Epoch: m.Epoch}, Ready: true}
	}
	return mm, true
}

// owns reports whether this node times out service k's instances.
func (n *Node) owns(k store.Key) bool {
	if n.gossip == nil {
		return true
	}
	if !n.synced.Load() || n.gossip.Conflicted() {
		return false
	}
	owning := n.cluster.owning.Load()
	p := n.ring.Partition(k.String())
	return owning != nil && p < len(*owning) && (*owning)[p]
}

// runMembership applies membership events until the node stops.
func (n *Node) runMembership() {
	n.applyMembership()
	for {
		select {
		case <-n.ctx.Done():
			return
		case _, ok := <-n.gossip.Events():
			if !ok {
				return
			}
			// Drain whatever else is queued, then rebuild once from the
			// authoritative member list.
		drain:
			for {
				select {
				case _, ok := <-n.gossip.Events():
					if !ok {
						break drain
					}
				default:
					break drain
				}
			}
			n.applyMembership()
		case <-n.resync:
			n.applyMembership()
		}
	}
}

// kickMembership asks the membership goroutine to rebuild (after this
// node's own readiness changed, or a peer's ready hint).
func (n *Node) kickMembership() {
	select {
	case n.resync <- struct{}{}:
	default:
	}
}
