package node

import (
	"sync"
	"time"

	"github.com/roster-io/roster/peer"
)

// The owner's side of connection leases (conn.go is the holder's). An
// owner renews the instances bound to a connection when the node holding
// it says the connection is alive (HandleLeases, POST
// /internal/v1/leases); unrenewed, they expire as any ephemeral instance
// does, at their lease timeout. When gossip finds the holding node gone,
// its instances are not left for the whole lease: every node brings their
// expiry forward to HolderGrace (store.ExpireHolder), time for a client
// that reconnected elsewhere to register again, which binds the instance
// to its new connection and out of the expiry's reach.

// HolderGrace is how long a gone holder's instances outlive the moment
// this node learns it is gone.
const HolderGrace = time.Second

// goneHolderMemory is how long a gone holder is remembered, so partitions
// taken over after its departure (whose takeover gives their instances
// fresh timeouts) have its instances brought forward again.
const goneHolderMemory = time.Minute

var _ peer.LeaseReceiver = (*Node)(nil)

// HandleLeases renews the instances bound to connections conns of holder
// (peer.LeaseReceiver) and returns how many it renewed.
func (n *Node) HandleLeases(holder peer.Member, conns []string) int {
	renewed, revived := n.store.RenewBound(holder.Name, conns)
	if len(revived) > 0 {
		_ = n.replicate(n.ctx, revived, false)
	}
	return renewed
}

var _ peer.CloseReceiver = (*Node)(nil)

// CloseConns deletes the instances bound to the connections of holder
// that closed (peer.CloseReceiver), as holder did when they closed
// (store.CloseConn), and returns how many it deleted. A close stamped
// further ahead of this node's clock than MaxClockSkew is refused, as a
// record would be.
func (n *Node) CloseConns(holder peer.Member, closes []peer.ConnClose) int {
	now := n.cfg.Now().UnixNano()
	deleted := 0
	for _, c := range closes {
		if time.Duration(c.Version.Clock-now) > n.cfg.MaxClockSkew {
			n.stats.futureRefused.Add(1)
			n.warns.Warn(n.log, time.Unix(0, now), "refused a connection close stamped ahead of this node's clock by more than --max-clock-skew",
				"holder", holder.Name, "conn", c.Conn)
			continue
		}
		_, d := n.store.CloseConn(holder.Name, c.Conn, c.Version)
		deleted += d
	}
	return deleted
}

// goneHolders remembers the members that left, and when.
type goneHolders struct {
	mu   sync.Mutex // guards gone
	gone map[string]time.Time
}

// memberNames returns the names of the members in the current view.
func (c *cluster) memberNames() map[string]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]bool, len(c.members))
	for name := range c.members {
		out[name] = true
	}
	return out
}

// expireGoneHolders brings forward the expiry of the instances held by
// the members of prev no longer in cur, and, when this node has just
// taken partitions over, of those held by members gone within
// goneHolderMemory. A member back in cur is forgotten.
func (n *Node) expireGoneHolders(prev map[string]bool, cur map[string]Member, tookOver bool) {
	now := n.cfg.Now()
	g := &n.goneHolders
	g.mu.Lock()
	if g.gone == nil {
		g.gone = map[string]time.Time{}
	}
	for name := range cur {
		delete(g.gone, name)
	}
	var expire []string
	for name := range prev {
		if _, ok := cur[name]; !ok && name != n.cfg.Name {
			g.gone[name] = now
			expire = append(expire, name)
		}
	}
	for name, at := range g.gone {
		switch {
		case now.Sub(at) > goneHolderMemory:
			delete(g.gone, name)
		case tookOver && at != now:
			expire = append(expire, name)
		}
	}
	g.mu.Unlock()
	for _, name := range expire {
		if moved := n.store.ExpireHolder(name, HolderGrace); moved > 0 {
			n.log.Info("holder gone: its connections' instances expire after the grace",
				"holder", name, "instances", moved, "grace", HolderGrace)
		}
	}
}
