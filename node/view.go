package node

import (
	"cmp"
	"slices"

	"github.com/roster-io/roster/peer"
	"github.com/roster-io/roster/ring"
	"github.com/roster-io/roster/store"
)

// The cluster as this node sees it, for the operator views of the front
// doors: members, owners and the ring.

// Name returns this node's name.
func (n *Node) Name() string { return n.cfg.Name }

// Epoch returns this node's boot epoch.
func (n *Node) Epoch() int64 { return n.epoch }

// Clustered reports whether the node gossips (false: a cluster of one
// without gossip).
func (n *Node) Clustered() bool { return n.gossip != nil }

// Members returns every live member, this node included, sorted by name.
// Without gossip it is this node alone.
func (n *Node) Members() []Member {
	if n.gossip == nil {
		return []Member{{Member: peer.Member{Name: n.cfg.Name, HTTPAddr: n.HTTPAddr()}, Ready: n.synced.Load(), Self: true}}
	}
	ms := n.cluster.memberList()
	for i := range ms {
		if ms[i].Self {
			// This node's own state as it is now, not as of the last
			// membership event (which follows its readiness a moment later).
			ms[i].Ready = n.synced.Load()
			return ms
		}
	}
	// Before the first membership event this node is in no view yet; it
	// still lists itself.
	self := Member{Member: peer.Member{Name: n.cfg.Name, GossipAddr: n.gossip.LocalMember().Addr, HTTPAddr: n.HTTPAddr(), Epoch: n.epoch},
		Ready: n.synced.Load(), Self: true}
	ms = append(ms, self)
	slices.SortFunc(ms, func(a, b Member) int { return cmp.Compare(a.Name, b.Name) })
	return ms
}

// Owner returns the owner of service k: this node without gossip, the
// ring's owner otherwise (false when the ring is empty).
func (n *Node) Owner(k store.Key) (Member, bool) {
	if n.gossip == nil {
		return n.Members()[0], true
	}
	return n.cluster.ownerOf(k)
}

// Partition returns the ring partition of service k.
func (n *Node) Partition(k store.Key) int { return n.ring.Partition(k.String()) }

// Ring returns the ring this node routes by (read-only for callers).
func (n *Node) Ring() *ring.Ring { return n.ring }

// OwnedPartitions returns how many partitions member name owns.
func (n *Node) OwnedPartitions(name string) int {
	if n.gossip == nil {
		return n.ring.PartitionCount()
	}
	return len(n.ring.Owned(name))
}

// ServicesByOwner counts the services held here by the name of their
// owner.
func (n *Node) ServicesByOwner() map[string]int {
	out := map[string]int{}
	for _, k := range n.store.AllServices() {
		if m, ok := n.Owner(k); ok {
			out[m.Name]++
		}
	}
	return out
}

// State describes this node: leaving, syncing or alive.
func (n *Node) State() string {
	switch {
	case n.closing.Load():
		return "leaving"
	case !n.synced.Load():
		return "syncing"
	}
	return "alive"
}

// SetStateForTesting sets whether the node holds the registry and whether
// it leaves, without syncing or leaving: the front doors' tests use it to
// serve an agent that was never started, or to see how a door answers a
// node that syncs or leaves. Never call it outside tests.
func (n *Node) SetStateForTesting(synced, leaving bool) {
	n.synced.Store(synced)
	n.closing.Store(leaving)
}
