package client

// Ring-aware beats. Every node computes the owner of a service on a
// consistent-hash ring of the cluster's synced members, and publishes the
// result: GET /v1/cluster/ring answers the owner of every partition
// (api.Ring) and GET /v1/cluster/members the ring's version. The client
// holds that table, computes a service's partition as the nodes do
// (xxhash64 of the service key modulo the partition count, api.Partition)
// and beats straight to the owner, so no beat costs a hand-off; it never
// rebuilds the ring itself. It reads the members every MembersRefresh and
// fetches the table again when the ring's version changed; a failed beat
// to an owner fetches it again at once. While it has no table, or the
// owner does not answer, a beat goes to any node, which hands it on.

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/roster-io/roster/api"
)

// Member is a cluster member as a node reports it.
type Member = api.Member

// ringTable is the cluster's ownership table as last read. It is never
// changed once published. from and version identify the ring it was read
// for: the node that answered the members, and the ring version it named
// (versions of different nodes are not comparable).
type ringTable struct {
	from    string
	version uint64
	ring    api.Ring // validated; empty when the nodes know no owner
}

// Members returns the cluster's members as one node sees them.
func (c *Client) Members(ctx context.Context) ([]Member, error) {
	ms, err := c.members(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Member, len(ms.Members))
	for i, m := range ms.Members {
		out[i] = Member{Name: m.Name, HTTPAddr: m.HTTPAddr, State: m.State, Epoch: m.Epoch, Self: m.Self}
	}
	return out, nil
}

// members reads GET /v1/cluster/members.
func (c *Client) members(ctx context.Context) (api.Members, error) {
	var ms api.Members
	err := c.do(ctx, request{method: http.MethodGet, path: "/v1/cluster/members"}, &ms)
	return ms, err
}

// refreshRing reads the members and, if the ring changed since the table
// was read (or force), the ring table.
func (c *Client) refreshRing(ctx context.Context, force bool) error {
	ms, err := c.members(ctx)
	if err != nil {
		return err
	}
	cur := c.table.Load()
	if !force && cur != nil && cur.from == ms.Self && cur.version == ms.Ring.Version {
		return nil
	}
	var r api.Ring
	if err := c.do(ctx, request{method: http.MethodGet, path: "/v1/cluster/ring"}, &r); err != nil {
		return err
	}
	next := &ringTable{from: ms.Self, version: ms.Ring.Version, ring: r}
	err = r.Validate()
	if err != nil {
		next.ring = api.Ring{} // a table the client cannot read: owners unknown
		err = fmt.Errorf("client: ring table: %w", err)
	}
	c.table.Store(next)
	return err
}

// ringMembers returns the members of the ring table, nil if unknown.
func (c *Client) ringMembers() []api.RingMember {
	if t := c.table.Load(); t != nil {
		return t.ring.Members
	}
	return nil
}

// ownerURL returns the base URL of service s's owner, or false when the
// client does not know it.
func (c *Client) ownerURL(s Service) (*url.URL, bool) {
	if c.cfg.DisableRing {
		return nil, false
	}
	t := c.table.Load()
	if t == nil {
		return nil, false
	}
	m, ok := t.ring.Owner(s.String())
	if !ok {
		return nil, false
	}
	return c.memberURL(m.HTTPAddr), true
}

// memberURL turns a member's host:port into a base URL with the scheme
// (and path prefix) of the configured addresses.
func (c *Client) memberURL(hostport string) *url.URL {
	u := *c.addrs[0]
	u.Host = hostport
	return &u
}

// startMembersLocked starts the membership loop once; c.mu must be held.
func (c *Client) startMembersLocked() {
	if c.membersStarted || c.cfg.DisableRing {
		return
	}
	c.membersStarted = true
	c.goLocked(c.membersLoop)
}

// membersLoop refreshes the ring table every MembersRefresh (when the
// ring's version changed) and when kicked (always).
func (c *Client) membersLoop() {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		force := false
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		case <-c.kick:
			force = true
		}
		ctx, cancel := context.WithTimeout(c.ctx, c.cfg.RequestTimeout)
		if err := c.refreshRing(ctx, force); err != nil && c.ctx.Err() == nil {
			c.log.Debug("reading the cluster's ring failed", "err", err)
		}
		cancel()
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
		t.Reset(c.cfg.MembersRefresh)
	}
}

// kickMembers asks the membership loop to refresh now.
func (c *Client) kickMembers() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}
