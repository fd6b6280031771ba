package node

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/roster-io/roster/peer"
	"github.com/roster-io/roster/store"
)

// Connection-bound instances. A Nacos 2.x client registers its ephemeral
// instances over a long-lived connection and sends no heartbeats: its
// instances live as long as the connection. The node that holds the
// connection is the source of that liveness. Leases keeps, per held
// connection, the instances registered through it, each bound in its
// record to this node and the connection (store.Instance.Holder, Conn),
// and:
//
//   - renews them every lease interval with one signal per connection,
//     not per instance: it tells each owner of their services, in one
//     request per owner (peer.Transport.RenewLeases), the ids of the
//     live connections holding instances there, and the owner renews
//     every instance bound to them (leases.go, store.RenewBound). The
//     instances carry a beat timeout and a delete timeout of three
//     intervals, so an owner that hears no renewal times them out as it
//     times out any ephemeral instance;
//   - deletes them at once when the connection closes (Release), here
//     and on every other node with one message per connection;
//   - when the holding node dies, nobody renews them: every node brings
//     their expiry forward to HolderGrace after gossip finds the holder
//     gone (leases.go), while their clients, which reconnect to another
//     node and register again, bind them to their new connections;
//   - checks at each renewal that its instances are still listed here
//     (every node holds the whole registry): one deleted while bound to
//     its live connection (an expiry that judged it dead, a deletion over
//     HTTP) is registered again. A deletion bound to another connection
//     (the client moved and deregistered there) is left alone.
//
// A connection's lock keeps its renewal check and its deregistrations
// apart, so no renewal re-registers an instance its client removed.

// ErrConnClosed refuses a registration on a connection already released.
var ErrConnClosed = errors.New("node: connection closed")

// LeaseTimeouts is how many lease intervals an unrenewed instance lives.
const LeaseTimeouts = 3

// Leases tracks the instances bound to the client connections this node
// holds. It is safe for concurrent use.
type Leases struct {
	n        *Node
	interval time.Duration
	mu       sync.Mutex // guards conns and stats
	conns    map[string]*heldConn
	stats    LeaseStats
}

// LeaseStats counts the work of Leases: lease requests sent to owners
// and failed, instances the owners reported renewed, instances
// registered again by the renewal check, instances released with their
// connection and kept (registered again elsewhere), and connections
// bound to this node that it did not hold and closed (closeStale), and
// how often it looked for those.
type LeaseStats struct {
	Renewals, RenewFailures, Renewed, Reregistered, Released, Kept uint64
	StaleClosed, StaleChecks                                       uint64
}

// heldConn is one connection's instances.
type heldConn struct {
	// mu: registrations, deregistrations, the release and the renewal
	// check write-lock it; Held read-locks it.
	mu     sync.RWMutex
	closed bool
	held   map[heldKey]store.Instance // as registered, with its version
	svcs   map[store.Key]int          // how many of held each service has
}

// hold records in as held under hk.
func (c *heldConn) hold(hk heldKey, in store.Instance) {
	if _, ok := c.held[hk]; !ok {
		c.svcs[hk.k]++
	}
	c.held[hk] = in
}

// drop forgets hk.
func (c *heldConn) drop(hk heldKey) {
	if _, ok := c.held[hk]; !ok {
		return
	}
	delete(c.held, hk)
	if c.svcs[hk.k]--; c.svcs[hk.k] <= 0 {
		delete(c.svcs, hk.k)
	}
}

// heldKey names one held instance.
type heldKey struct {
	k  store.Key
	ik store.InstanceKey
}

// NewLeases returns the lease table of connections held by n, renewing
// their instances every interval once Run runs.
func (n *Node) NewLeases(interval time.Duration) *Leases {
	return &Leases{n: n, interval: interval, conns: map[string]*heldConn{}}
}

// Interval returns the lease interval.
func (l *Leases) Interval() time.Duration { return l.interval }

// Open starts tracking connection conn.
func (l *Leases) Open(conn string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conns[conn] == nil {
		l.conns[conn] = &heldConn{held: map[heldKey]store.Instance{}, svcs: map[store.Key]int{}}
	}
}

func (l *Leases) get(conn string) *heldConn {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.conns[conn]
}

// Register registers in as an instance of service k bound to connection
// conn: ephemeral, with the lease's timings. A registration whose
// replication was not confirmed (ErrNotReplicated) is applied here and
// bound all the same, so the connection's close removes it.
func (l *Leases) Register(ctx context.Context, conn string, k store.Key, in store.Instance) (store.Instance, error) {
	c := l.get(conn)
	if c == nil {
		return store.Instance{}, ErrConnClosed
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return store.Instance{}, ErrConnClosed
	}
	in.Ephemeral = true
	in.Holder, in.Conn = l.n.cfg.Name, conn
	in.BeatInterval = l.interval
	in.BeatTimeout, in.DeleteTimeout = LeaseTimeouts*l.interval, LeaseTimeouts*l.interval
	out, err := l.n.Register(ctx, k, in)
	if err != nil && !errors.Is(err, ErrNotReplicated) {
		return out, err
	}
	c.hold(heldKey{k, in.InstanceKey}, out)
	return out, err
}

// Deregister removes instance ik of service k, which connection conn
// registered.
func (l *Leases) Deregister(ctx context.Context, conn string, k store.Key, ik store.InstanceKey) error {
	if c := l.get(conn); c != nil {
		c.mu.Lock()
		c.drop(heldKey{k, ik})
		c.mu.Unlock()
	}
	return l.n.Deregister(ctx, k, ik)
}

// Release forgets connection conn and deletes its instances at once, on
// this node and, through one small message per connection, on every
// other (store.CloseConn, peer.Transport.BroadcastClose): each node
// deletes the records bound to conn, whatever their version (a node may
// have re-versioned one, see store.MergeGuarded). An instance registered
// again through another connection (the client moved) is bound to that
// one and left alone. It returns how many instances it removed here.
func (l *Leases) Release(ctx context.Context, conn string) int {
	l.mu.Lock()
	c := l.conns[conn]
	delete(l.conns, conn)
	l.mu.Unlock()
	if c == nil {
		return 0
	}
	c.mu.Lock()
	c.closed = true
	held := c.held
	c.held = nil
	c.mu.Unlock()
	v, removed := l.n.store.CloseConn(l.n.cfg.Name, conn, store.Version{})
	if l.n.peers.Peers() > 0 {
		l.n.peers.BroadcastClose(ctx, peer.ConnClose{Conn: conn, Version: v})
	}
	kept := 0
	for hk := range held {
		if _, ok := l.n.store.Snapshot(hk.k).Find(hk.ik); ok {
			kept++ // still live: bound to another connection now
		}
	}
	l.mu.Lock()
	l.stats.Released += uint64(removed)
	l.stats.Kept += uint64(kept)
	l.mu.Unlock()
	return removed
}

// Held returns how many connections are tracked and how many instances
// they hold.
func (l *Leases) Held() (conns, instances int) {
	l.mu.Lock()
	list := make([]*heldConn, 0, len(l.conns))
	for _, c := range l.conns {
		list = append(list, c)
	}
	l.mu.Unlock()
	for _, c := range list {
		c.mu.RLock()
		instances += len(c.held)
		c.mu.RUnlock()
	}
	return len(list), instances
}

// Stats returns the counters.
func (l *Leases) Stats() LeaseStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats
}

// HeldIn returns the instances of service k that connection conn holds.
func (l *Leases) HeldIn(conn string, k store.Key) []store.InstanceKey {
	c := l.get(conn)
	if c == nil {
		return nil
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []store.InstanceKey
	for hk := range c.held {
		if hk.k == k {
			out = append(out, hk.ik)
		}
	}
	return out
}
