package ring

import "github.com/buraksezer/consistent"

// Member is one node of the cluster as the ring sees it. Names are unique in a
// cluster and are all the ring hashes: Addr and Epoch ride along so that a
// caller that finds an owner also knows where to reach it.
type Member struct {
	// Name is the node's unique name (memberlist's node name).
	Name string
	// Addr is the node's HTTP address, host:port.
	Addr string
	// Epoch is the node's boot time (for example Unix nanoseconds), so a
	// restarted node with the same name can be told apart from its past self.
	Epoch int64
}

// String returns the member's name; consistent places members by it.
func (m Member) String() string { return m.Name }

var _ consistent.Member = Member{}
