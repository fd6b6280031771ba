package node

import (
	"slices"
	"sync"
)

// Fault injection for chaos tests. With Config.DebugFaults, SetFaults
// (the agent's PUT /debug/faults) makes this node drop its gossip packets
// and peer requests to the named members.

// faults holds the members this node must not reach. It is safe for
// concurrent use.
type faults struct {
	// mu guards blocked.
	mu      sync.Mutex
	blocked map[string]bool
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
// faults, mapping the address to the member using it.
func (n *Node) allowGossipAddr(addr string) bool {
	if n.cfg.AllowGossipAddr != nil && !n.cfg.AllowGossipAddr(addr) {
		return false
	}
	if name, ok := n.cluster.nameAt(addr); ok {
		return n.faults.allows(name)
	}
	return true
}
