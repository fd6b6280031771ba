package node

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/roster-io/roster/ring"
	"github.com/roster-io/roster/store"
)

// Membership and ownership. memberlist (package gossip) tells which nodes
// are alive; each node publishes its HTTP address, boot epoch and whether
// it has synced. The ring holds the synced members only, so a node that
// has just (re)started owns nothing until it holds the registry. One
// goroutine applies membership events: it rebuilds the ring, starts and
// stops the per-peer queues, and gives every instance of a service this
// node has just taken over a full fresh timeout.

// member is this node's view of one cluster member.
type member struct {
	Name       string
	GossipAddr string
	HTTPAddr   string
	Epoch      int64
	Ready      bool
	Self       bool
}

// cluster holds the membership view and the per-peer queues. It is safe
// for concurrent use.
type cluster struct {
	self string
	ring *ring.Ring

	// owning is the set of partitions this node sweeps, indexed by
	// partition. It is published only after the instances of newly gained
	// partitions got a fresh timeout, so a new owner never sweeps with a
	// stale last-beat time.
	owning atomic.Pointer[[]bool]

	// mu guards members, peers and owned.
	mu      sync.Mutex
	members map[string]member
	peers   map[string]*peer
	owned   map[int]bool
}

// peer is the outbound side of one other member. It is immutable once
// made: a member that comes back with another address or epoch gets a new
// peer; its changing readiness is read from cluster.members.
type peer struct {
	member
	deltas *batcher[[]store.Record, struct{}]
	beats  *batcher[beatCall, beatAnswer]
}

// ownerOf returns the owner of service k, or "" when the ring is empty.
func (c *cluster) ownerOf(k store.Key) (member, bool) {
	m, ok := c.ring.Owner(k.String())
	if !ok {
		return member{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	mm, ok := c.members[m.Name]
	if !ok {
		mm = member{Name: m.Name, HTTPAddr: m.Addr, Epoch: m.Epoch, Ready: true}
	}
	return mm, true
}

// peerList returns the other live members' queues.
func (c *cluster) peerList() []*peer {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*peer, 0, len(c.peers))
	for _, p := range c.peers {
		out = append(out, p)
	}
	return out
}

// peerNamed returns the queue of one member.
func (c *cluster) peerNamed(name string) (*peer, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.peers[name]
	return p, ok
}

// memberList returns every known live member, sorted by name.
func (c *cluster) memberList() []member {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]member, 0, len(c.members))
	for _, m := range c.members {
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b member) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
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

// isMember reports whether name is a live member other than this node,
// and returns it.
func (c *cluster) isMember(name string) (member, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok := c.members[name]
	return m, ok && !m.Self
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
	defer n.wg.Done()
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

// applyMembership rebuilds the member view, the ring and the peer queues
// from gossip's member list, and refreshes services this node took over.
func (n *Node) applyMembership() {
	c := n.cluster
	live := n.gossip.Members()
	members := make(map[string]member, len(live))
	var ringMembers []ring.Member
	for _, gm := range live {
		m := member{Name: gm.Name, GossipAddr: gm.Addr, HTTPAddr: gm.Meta.HTTPAddr, Epoch: gm.Meta.Epoch,
			Ready: n.readyHints.ready(gm.Name, gm.Meta.Epoch, gm.Meta.Ready, n.cfg.Now()), Self: gm.Name == n.cfg.Name}
		if m.Self {
			m.HTTPAddr, m.Ready = n.Addr(), n.synced.Load()
		}
		members[m.Name] = m
		if m.Ready && m.HTTPAddr != "" {
			ringMembers = append(ringMembers, ring.Member{Name: m.Name, Addr: m.HTTPAddr, Epoch: m.Epoch})
		}
	}
	if err := c.ring.Set(ringMembers); err != nil {
		n.log.Error("ring rebuild failed", "err", err)
		return
	}

	owned := map[int]bool{}
	if n.synced.Load() {
		for _, p := range c.ring.Owned(n.cfg.Name) {
			owned[p] = true
		}
	}

	c.mu.Lock()
	var gained []int
	for p := range owned {
		if !c.owned[p] {
			gained = append(gained, p)
		}
	}
	lost := len(c.owned) - (len(owned) - len(gained))
	c.owned = owned
	var stopped []*peer
	var joined []string
	for name, p := range c.peers {
		m, ok := members[name]
		if !ok || m.HTTPAddr != p.HTTPAddr || m.Epoch != p.Epoch {
			stopped = append(stopped, p)
			delete(c.peers, name)
		}
	}
	for name, m := range members {
		if m.Self || m.HTTPAddr == "" {
			continue
		}
		if _, ok := c.peers[name]; !ok {
			c.peers[name] = n.newPeer(m)
			what := "member joined"
			if old, known := c.members[name]; known && (old.Epoch != m.Epoch || old.HTTPAddr != m.HTTPAddr) {
				what = "member restarted"
			}
			n.log.Info(what, "member", name, "http", m.HTTPAddr, "ready", m.Ready)
			if m.Ready && n.synced.Load() {
				joined = append(joined, name)
			}
		}
	}
	for name := range c.members {
		if _, ok := members[name]; !ok {
			n.log.Info("member left", "member", name)
		}
	}
	c.members = members
	c.mu.Unlock()

	for _, p := range stopped {
		p.deltas.stop()
		p.beats.stop()
	}
	for _, name := range joined {
		n.kickJoinExchange(name)
	}
	// Fresh timeouts first, then start sweeping the new partitions.
	refreshed := 0
	if len(gained) > 0 && takeoverGrace {
		refreshed = n.store.RefreshPartitions(gained)
	}
	owning := make([]bool, n.ring.PartitionCount())
	for p := range owned {
		owning[p] = true
	}
	c.owning.Store(&owning)
	if len(gained) > 0 || lost > 0 {
		n.log.Info("partitions moved", "gained", len(gained), "lost", lost, "owned", len(owned),
			"services", refreshed)
	}
}

// newPeer starts the outbound queues of member m.
func (n *Node) newPeer(m member) *peer {
	p := &peer{member: m}
	p.deltas = newBatcher(n.ctx, 8192, 512, func(ctx context.Context, batch [][]store.Record) ([]struct{}, error) {
		return n.sendDeltas(ctx, m, batch)
	})
	p.beats = newBatcher(n.ctx, 8192, 1024, func(ctx context.Context, batch []beatCall) ([]beatAnswer, error) {
		return n.sendBeats(ctx, m, batch)
	})
	return p
}

// kickMembership asks the membership goroutine to rebuild (after this
// node's own readiness changed).
func (n *Node) kickMembership() {
	select {
	case n.resync <- struct{}{}:
	default:
	}
}

// stopPeers stops every peer queue.
func (c *cluster) stopPeers() {
	c.mu.Lock()
	peers := c.peers
	c.peers = map[string]*peer{}
	c.mu.Unlock()
	for _, p := range peers {
		p.deltas.stop()
		p.beats.stop()
	}
}
