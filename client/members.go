package client

// Ring-aware beats. Every node computes the owner of a service on a
// consistent-hash ring of the cluster's synced members
// (ring.DefaultConfig, the same on every node). The client reads the
// members from /v1/cluster/members, builds the same ring with package
// ring, and beats straight to each service's owner, so no beat costs a
// hand-off. When it does not know the members, or the owner does not
// answer, a beat goes to any node, which hands it on; a failed beat to an
// owner also refreshes the members at once.

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/roster-io/roster/ring"
)

// Member is a cluster member as a node reports it.
type Member struct {
	Name     string `json:"name"`
	HTTPAddr string `json:"httpAddr"`
	State    string `json:"state"` // alive, syncing or leaving
	Epoch    int64  `json:"epoch"`
	Self     bool   `json:"self,omitempty"`
}

// Members returns the cluster's members as one node sees them.
func (c *Client) Members(ctx context.Context) ([]Member, error) {
	var out struct {
		Members []Member `json:"members"`
	}
	if err := c.do(ctx, request{method: http.MethodGet, path: "/v1/cluster/members"}, &out); err != nil {
		return nil, err
	}
	return out.Members, nil
}

// refreshRing reads the members and rebuilds the ring from the alive ones.
func (c *Client) refreshRing(ctx context.Context) error {
	ms, err := c.Members(ctx)
	if err != nil {
		return err
	}
	var rm []ring.Member
	for _, m := range ms {
		if m.State == "alive" && m.HTTPAddr != "" {
			rm = append(rm, ring.Member{Name: m.Name, Addr: m.HTTPAddr, Epoch: m.Epoch})
		}
	}
	return c.ring.Set(rm)
}

// ownerURL returns the base URL of service s's owner, or false when the
// client does not know it.
func (c *Client) ownerURL(s Service) (*url.URL, bool) {
	if c.cfg.DisableRing {
		return nil, false
	}
	m, ok := c.ring.Owner(s.String())
	if !ok {
		return nil, false
	}
	return c.memberURL(m.Addr), true
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

// membersLoop refreshes the ring every MembersRefresh and when kicked.
func (c *Client) membersLoop() {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		case <-c.kick:
		}
		ctx, cancel := context.WithTimeout(c.ctx, c.cfg.RequestTimeout)
		if err := c.refreshRing(ctx); err != nil && c.ctx.Err() == nil {
			c.log.Debug("reading the cluster members failed", "err", err)
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
