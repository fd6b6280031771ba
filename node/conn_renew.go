package node

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/roster-io/roster/peer"
	"github.com/roster-io/roster/store"
)

// Run renews the held connections every interval until ctx ends. Once
// the node has synced, it first closes the connections of an earlier
// incarnation (closeStale).
func (l *Leases) Run(ctx context.Context) {
	for !l.n.Synced() {
		select {
		case <-ctx.Done():
			return
		case <-time.After(syncPoll):
		}
	}
	l.closeStale(ctx)
	t := time.NewTicker(l.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			l.Renew(ctx)
		}
	}
}

// syncPoll is how often Run looks whether the node has synced.
const syncPoll = 50 * time.Millisecond

// Renew checks every held connection's instances and tells each owner
// which held connections hold instances of its services, one request per
// owner (its own services renewed here), and returns when all are
// answered or an interval has passed.
func (l *Leases) Renew(ctx context.Context) {
	if l.n.Synced() {
		l.closeStale(ctx)
	}
	l.mu.Lock()
	ids := make([]string, 0, len(l.conns))
	list := make([]*heldConn, 0, len(l.conns))
	for id, c := range l.conns {
		ids, list = append(ids, id), append(list, c)
	}
	l.mu.Unlock()
	byOwner := map[string][]string{}
	members := map[string]peer.Member{}
	var rereg uint64
	for i, c := range list {
		owners, n := l.check(ctx, ids[i], c)
		rereg += n
		for _, m := range owners {
			byOwner[m.Name] = append(byOwner[m.Name], ids[i])
			members[m.Name] = m
		}
	}
	ctx, cancel := context.WithTimeout(ctx, l.interval)
	defer cancel()
	var mu sync.Mutex
	var sent, failed, renewed uint64
	var wg sync.WaitGroup
	for name, conns := range byOwner {
		if name == l.n.cfg.Name {
			n, revived := l.n.store.RenewBound(name, conns)
			if len(revived) > 0 {
				_ = l.n.replicate(ctx, revived, false)
			}
			mu.Lock()
			renewed += uint64(n)
			mu.Unlock()
			continue
		}
		wg.Go(func() {
			n, err := l.n.peers.RenewLeases(ctx, members[name], conns)
			mu.Lock()
			defer mu.Unlock()
			sent++
			renewed += uint64(n)
			if err != nil {
				failed++
				l.n.log.Debug("connection lease renewal failed", "owner", name, "conns", len(conns), "err", err)
			}
		})
	}
	wg.Wait()
	l.mu.Lock()
	l.stats.Renewals += sent
	l.stats.RenewFailures += failed
	l.stats.Renewed += renewed
	l.stats.Reregistered += rereg
	l.mu.Unlock()
}

// closeStale closes, as Release closes a connection, the connections
// the registry binds to this node that it does not hold: those of an
// earlier incarnation of this node (one restarted faster than failure
// detection, so no peer saw it gone and brought their expiry forward),
// and stragglers of connections already released (a registration that
// reached this node after the close). Connection ids carry their opening
// time, so a new incarnation never reuses an old one's. A connection
// opened meanwhile is in the table before it binds anything, so it is
// never taken for stale. It returns how many it closed.
func (l *Leases) closeStale(ctx context.Context) int {
	ids := l.n.store.BoundConns(l.n.cfg.Name)
	l.mu.Lock()
	l.stats.StaleChecks++
	stale := ids[:0]
	for _, id := range ids {
		if l.conns[id] == nil {
			stale = append(stale, id)
		}
	}
	l.mu.Unlock()
	deleted := 0
	for _, id := range stale {
		v, n := l.n.store.CloseConn(l.n.cfg.Name, id, store.Version{})
		deleted += n
		if l.n.peers.Peers() > 0 {
			l.n.peers.BroadcastClose(ctx, peer.ConnClose{Conn: id, Version: v})
		}
	}
	if len(stale) > 0 {
		l.n.log.Info("closed connections bound to this node that it does not hold (an earlier incarnation's)",
			"conns", len(stale), "instances", deleted)
		l.mu.Lock()
		l.stats.StaleClosed += uint64(len(stale))
		l.mu.Unlock()
	}
	return len(stale)
}

// check looks at connection conn's instances under its lock: each still
// listed here, or deleted while bound to conn and so registered again
// (see the top of conn.go). When the store's binding index holds as many
// live instances bound to conn as conn holds, all are listed and none is
// looked at. It returns the owners of their services (this node among
// them when it owns one, or when no ring is formed) and how many
// instances it registered again.
func (l *Leases) check(ctx context.Context, conn string, c *heldConn) (owners []peer.Member, rereg uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, 0
	}
	if l.n.store.BoundConn(l.n.cfg.Name, conn) != len(c.held) {
		for hk, in := range c.held {
			if l.listed(conn, hk) {
				continue
			}
			reg := in
			reg.Version = store.Version{}
			out, err := l.n.Register(ctx, hk.k, reg)
			if err != nil && !errors.Is(err, ErrNotReplicated) {
				l.n.log.Debug("re-registration of a connection's instance failed", "conn", conn, "service", hk.k.String(), "err", err)
				continue
			}
			c.held[hk] = out
			rereg++
		}
	}
	names := map[string]bool{}
	for k := range c.svcs {
		m := peer.Member{Name: l.n.cfg.Name}
		if owner, ok := l.n.cluster.ownerOf(k); ok {
			m = owner.Member
		}
		if !names[m.Name] {
			names[m.Name] = true
			owners = append(owners, m)
		}
	}
	return owners, rereg
}

// listed reports whether instance hk, held by connection conn, is as it
// should be here: live, or deleted by a write bound to another connection
// (the client's business there).
func (l *Leases) listed(conn string, hk heldKey) bool {
	if _, ok := l.n.store.Snapshot(hk.k).Find(hk.ik); ok {
		return true
	}
	cur, ok := l.n.store.Current(hk.k, hk.ik)
	if !ok {
		return false
	}
	return !cur.Deleted || cur.Holder != l.n.cfg.Name || cur.Conn != conn
}
