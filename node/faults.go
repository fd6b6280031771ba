package node

import (
	"slices"
	"sync"
)

// Fault injection for chaos tests. With Config.DebugFaults, SetFaults
// (the agent's PUT /debug/faults) makes this node drop its gossip packets
// and peer requests to the named members.

// faults holds the members this node must not reach, and the gossip
// address each member was last seen at. It is safe for concurrent use.
//
// The addresses outlive the members: once a blocked member is declared
// dead it leaves the membership view, but gossip keeps dialling its
// address to reconnect (gossip/reconnect.go). Mapped by the live view
// only, that address would pass, the join would go through, and the
// partition would heal itself within a reconnect interval.
type faults struct {
	// mu guards blocked and seen.
	mu      sync.Mutex
	blocked map[string]bool
	seen    map[string]string // gossip address → member last seen there
}

// maxSeenAddrs bounds the remembered addresses; past it they are
// forgotten and learned again from the live members.
const maxSeenAddrs = 4096

// allowsAddr reports whether gossip traffic to addr may pass: name is the
// live member at addr, if known is true; else the member last seen there.
func (f *faults) allowsAddr(addr, name string, known bool) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case known:
		if f.seen == nil || len(f.seen) >= maxSeenAddrs && f.seen[addr] == "" {
			f.seen = map[string]string{}
		}
		f.seen[addr] = name
	default:
		if name, known = f.seen[addr]; !known {
			return true
		}
	}
	return !f.blocked[name]
}

// allows reports whether traffic to member name may pass.
func (f *faults) allows(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return !f.blocked[name]
}

// set replaces the blocked set.
func (f *faults) set(names []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.blocked = map[string]bool{}
	for _, n := range names {
		f.blocked[n] = true
	}
}

// list returns the blocked names, sorted.
func (f *faults) list() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, 0, len(f.blocked))
	for n := range f.blocked {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// SetFaults makes this node drop its gossip packets and peer requests to
// the named members (none: heal). It does nothing unless
// Config.DebugFaults is set; telling both sides cuts the network between
// them both ways.
func (n *Node) SetFaults(block []string) {
	if !n.cfg.DebugFaults {
		return
	}
	n.faults.set(block)
	n.log.Warn("fault injection: blocking traffic to members", "block", block)
}

// Faults returns the members this node's traffic is cut from, sorted.
func (n *Node) Faults() []string { return n.faults.list() }

// AllowPeer reports whether the injected faults let this node send to
// member name; the agent makes the transport ask it.
func (n *Node) AllowPeer(name string) bool { return n.faults.allows(name) }

// allowGossipAddr combines the configured gossip filter with injected
// faults, mapping the address to the member using it, or, for a member
// gone from the view, to the member last seen there.
func (n *Node) allowGossipAddr(addr string) bool {
	if n.cfg.AllowGossipAddr != nil && !n.cfg.AllowGossipAddr(addr) {
		return false
	}
	if !n.cfg.DebugFaults {
		return true
	}
	name, ok := n.cluster.nameAt(addr)
	return n.faults.allowsAddr(addr, name, ok)
}
