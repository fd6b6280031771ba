package node

import (
	"github.com/roster-io/roster/peer"
	"github.com/roster-io/roster/ring"
	"github.com/roster-io/roster/store"
)

// applyMembership rebuilds the member view, the ring and the transport's
// queues from gossip's member list, and refreshes the services this node
// took over.
func (n *Node) applyMembership() {
	members, ringMembers := n.liveMembers()
	before := n.ring.View() // the owners the takeover's reports must come from
	if err := n.ring.Set(ringMembers); err != nil {
		n.log.Error("ring rebuild failed", "err", err)
		return
	}
	owned := map[int]bool{}
	if n.synced.Load() {
		for _, p := range n.ring.Owned(n.cfg.Name) {
			owned[p] = true
		}
	}
	prev := n.cluster.memberNames()
	gained, lost := n.swapView(members, owned)
	addrs := make([]peer.Member, 0, len(members))
	for _, m := range members {
		if !m.Self {
			addrs = append(addrs, m.Member)
		}
	}
	added := n.peers.SetMembers(addrs)
	for _, name := range added {
		if !n.synced.Load() {
			continue
		}
		n.kickHint(name)
		if members[name].Ready {
			n.kickJoinExchange(name)
		}
	}
	// Re-arm the expiry of what was taken over first (from the former
	// owners' last-heard reports, else fresh timeouts), then start
	// sweeping the new partitions.
	var took store.Takeover
	var miss hintMisses
	now := n.cfg.Now()
	n.heard.departed(members, now, n.heardHintTTL())
	if len(gained) > 0 && takeoverGrace {
		took = n.store.TakeOver(gained, n.heard.hintsFrom(ownerNames(before), now, n.heardHintTTL(), &miss))
		n.heard.dropRelayed()
	}
	owning := make([]bool, n.ring.PartitionCount())
	for p := range owned {
		owning[p] = true
	}
	n.cluster.owning.Store(&owning)
	// After owning is published: a deadline brought forward is swept as
	// this node's at once.
	n.expireGoneHolders(prev, members, len(gained) > 0)
	if len(gained) > 0 || lost > 0 || len(added) > 0 {
		n.kickHeard() // tell whoever takes over next, and newcomers, at once
	}
	switch {
	case took.Fresh > 0 || miss.relayed > 0:
		// Instances given a full fresh timeout: say why their partitions
		// had no usable last-heard report, and how many partitions were
		// read from the reports copied from the peer synced from.
		n.log.Info("partitions moved", "gained", len(gained), "lost", lost, "owned", len(owned),
			"services", took.Services, "quiet", took.Quiet, "heard", took.Heard, "fresh", took.Fresh,
			"no_report", miss.none, "report_from_other", miss.other, "report_stale", miss.stale,
			"relayed", miss.relayed)
	case len(gained) > 0 || lost > 0:
		n.log.Info("partitions moved", "gained", len(gained), "lost", lost, "owned", len(owned),
			"services", took.Services, "quiet", took.Quiet, "heard", took.Heard, "fresh", took.Fresh)
	}
}

// liveMembers reads gossip's member list: every live member, and the
// ready ones with an HTTP address for the ring.
func (n *Node) liveMembers() (map[string]Member, []ring.Member) {
	live := n.gossip.Members()
	members := make(map[string]Member, len(live))
	var ringMembers []ring.Member
	for _, gm := range live {
		m := Member{Member: peer.Member{Name: gm.Name, GossipAddr: gm.Addr, HTTPAddr: gm.Meta.HTTPAddr, Epoch: gm.Meta.Epoch},
			Ready: n.readyHints.ready(gm.Name, gm.Meta.Epoch, gm.Meta.Ready, n.cfg.Now()), Self: gm.Name == n.cfg.Name}
		if m.Self {
			m.HTTPAddr, m.Ready = n.HTTPAddr(), n.synced.Load()
		}
		members[m.Name] = m
		if m.Ready && m.HTTPAddr != "" {
			ringMembers = append(ringMembers, ring.Member{Name: m.Name, Addr: m.HTTPAddr, Epoch: m.Epoch})
		}
	}
	return members, ringMembers
}

// swapView installs members and owned as the cluster view, logs who
// joined, restarted and left, and returns the partitions gained and the
// number lost.
func (n *Node) swapView(members map[string]Member, owned map[int]bool) (gained []int, lost int) {
	c := n.cluster
	c.mu.Lock()
	defer c.mu.Unlock()
	for p := range owned {
		if !c.owned[p] {
			gained = append(gained, p)
		}
	}
	lost = len(c.owned) - (len(owned) - len(gained))
	c.owned = owned
	for name, m := range members {
		old, known := c.members[name]
		switch {
		case m.Self:
		case !known:
			n.log.Info("member joined", "member", name, "http", m.HTTPAddr, "ready", m.Ready)
		case old.Epoch != m.Epoch || old.HTTPAddr != m.HTTPAddr:
			n.log.Info("member restarted", "member", name, "http", m.HTTPAddr, "ready", m.Ready)
		}
	}
	for name := range c.members {
		if _, ok := members[name]; !ok {
			n.log.Info("member left", "member", name)
		}
	}
	c.members = members
	return gained, lost
}
