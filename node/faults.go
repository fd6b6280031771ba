package node

import (
	"net"
	"net/http"
	"slices"
	"sync"
)

// Fault injection for chaos tests. With Config.DebugFaults, PUT
// /debug/faults {"block":["name",...]} makes this node drop its gossip
// packets and internal HTTP requests to the named members; telling both
// sides cuts the network between them both ways, and {"block":[]} heals
// it. Only loopback clients may use it, and it does not exist unless the
// flag is set.

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

// faultsBody is the body of /debug/faults.
type faultsBody struct {
	Block []string `json:"block"`
}

// debugFaults handles GET and PUT /debug/faults.
func (n *Node) debugFaults(w http.ResponseWriter, r *http.Request) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		jsonError(w, errForbidden)
		return
	}
	if r.Method == http.MethodPut {
		var b faultsBody
		if err := n.decodeJSON(r, &b); err != nil {
			jsonError(w, err)
			return
		}
		n.faults.set(b.Block)
		n.log.Warn("fault injection: blocking traffic to members", "block", b.Block)
	}
	writeJSON(w, http.StatusOK, faultsBody{Block: n.faults.list()})
}

// allowPeer combines the configured peer filter with injected faults.
func (n *Node) allowPeer(name string) bool {
	if n.cfg.AllowPeer != nil && !n.cfg.AllowPeer(name) {
		return false
	}
	return n.faults.allows(name)
}

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
