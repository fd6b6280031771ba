package nacos

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/roster-io/roster/node"
	"github.com/roster-io/roster/store"
)

// UDP push to Nacos clients. A Nacos 1.x client that lists a service with
// udpPort>0 listens there for pushes; roster then sends the new list as
// soon as the service changes, instead of leaving the client to notice at
// its next poll (cacheMillis). The push goes to the IP the list request
// came from — never to the clientIP parameter, so a client cannot aim
// pushes at a third party — and a subscription lapses when the client
// stops polling. Pushes are best effort: polling remains the fallback.

// Bounds on subscriptions. Every list request with a udpPort may add one,
// and a client picks the service, the filter and the port freely, so
// without them one client could fill the node's memory. A request beyond
// a bound is answered as usual but not subscribed: that client polls.
const (
	// maxSubs is how many subscriptions a node holds.
	maxSubs = 16384
	// maxSubsPerIP is how many one client IP holds, over all its ports.
	maxSubsPerIP = 1024
	// maxSubClusters is the longest clusters parameter a subscription
	// keeps, in bytes.
	maxSubClusters = 1024
)

// subKey identifies a subscription: what the client lists and where it
// listens.
type subKey struct {
	key         store.Key
	clusters    string // as sent: pushes echo it, as the list does
	healthyOnly bool
	addr        netip.AddrPort
}

// pushSub is one subscription.
type pushSub struct {
	subKey
	lastSeen    time.Time
	pushedIndex uint64
}

// pusher tracks subscriptions and sends pushes. It is safe for concurrent
// use.
type pusher struct {
	conn *net.UDPConn

	// mu guards subs, perIP and refused.
	mu      sync.Mutex
	subs    map[subKey]*pushSub
	perIP   map[netip.Addr]int // subscriptions by client IP
	refused uint64             // subscriptions not taken for a bound
}

// pushMessage is what a Nacos client expects on its UDP port.
type pushMessage struct {
	Type        string `json:"type"`
	Data        string `json:"data"`
	LastRefTime int64  `json:"lastRefTime"`
}

// subscribe records (or refreshes) a subscription from an instance/list
// request by the client at remote asking for pushes on udpPort. It
// reports whether the client is subscribed: a new subscription beyond a
// bound is not taken.
func (p *pusher) subscribe(k store.Key, clusters string, healthyOnly bool, remote string, udpPort int, index uint64, now time.Time) bool {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil || udpPort <= 0 || udpPort > 65535 {
		return false
	}
	ip := ap.Addr().Unmap()
	sk := subKey{key: k, clusters: clusters, healthyOnly: healthyOnly, addr: netip.AddrPortFrom(ip, uint16(udpPort))}
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.subs[sk]; ok {
		s.lastSeen = now
		return true
	}
	if len(p.subs) >= maxSubs || p.perIP[ip] >= maxSubsPerIP || len(clusters) > maxSubClusters {
		p.refused++
		return false
	}
	// Copies, so the subscription does not keep the request's strings.
	sk.key = store.Key{Namespace: strings.Clone(k.Namespace), Group: strings.Clone(k.Group), Service: strings.Clone(k.Service)}
	sk.clusters = strings.Clone(clusters)
	p.subs[sk] = &pushSub{subKey: sk, lastSeen: now, pushedIndex: index}
	p.perIP[ip]++
	return true
}

// due returns the subscriptions whose service changed since their last
// push, marking them pushed, and drops those not renewed within ttl.
func (p *pusher) due(core *node.Node, now time.Time, ttl time.Duration) []*pushSub {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*pushSub
	for sk, s := range p.subs {
		if now.Sub(s.lastSeen) > ttl {
			p.dropLocked(sk)
			continue
		}
		if idx := core.Snapshot(s.key).Index; idx > s.pushedIndex {
			s.pushedIndex = idx
			c := *s
			out = append(out, &c)
		}
	}
	return out
}

// dropLocked removes a subscription.
func (p *pusher) dropLocked(sk subKey) {
	delete(p.subs, sk)
	ip := sk.addr.Addr()
	if p.perIP[ip] <= 1 {
		delete(p.perIP, ip)
	} else {
		p.perIP[ip]--
	}
}

// newPusher opens the UDP socket pushes leave from, on the host of the
// bound HTTP address.
func newPusher(httpAddr string) (*pusher, error) {
	host, _, err := net.SplitHostPort(httpAddr)
	if err != nil {
		return nil, fmt.Errorf("push socket: %w", err)
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(host)})
	if err != nil {
		return nil, fmt.Errorf("push socket: %w", err)
	}
	return &pusher{conn: conn, subs: map[subKey]*pushSub{}, perIP: map[netip.Addr]int{}}, nil
}

// runPush sends pushes after changes until the node stops.
func (d *Door) runPush() {
	ttl := max(10*time.Second, 3*time.Duration(d.cfg.CacheMillis)*time.Millisecond)
	for {
		changed := d.core.Changed()
		select {
		case <-d.ctx.Done():
			return
		case <-changed:
		case <-time.After(ttl):
		}
		// Let a burst of changes settle into one push.
		select {
		case <-d.ctx.Done():
			return
		case <-time.After(5 * time.Millisecond):
		}
		for _, s := range d.push.due(d.core, d.cfg.Now(), ttl) {
			d.sendPush(s)
		}
	}
}

// sendPush sends one subscription its service's current list.
func (d *Door) sendPush(s *pushSub) {
	snap := d.core.Snapshot(s.key)
	body, echo, err := d.cachedList(snap, s.clusters, s.healthyOnly)
	if err != nil {
		return
	}
	head, value, tail := spliceClusters(body, echo, s.clusters)
	data := string(head) + string(value) + string(tail)
	msg, err := json.Marshal(pushMessage{Type: "dom", Data: data, LastRefTime: time.Now().UnixNano()})
	if err != nil {
		return
	}
	if len(msg) > 1024 {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(msg)
		_ = zw.Close()
		msg = buf.Bytes()
	}
	if len(msg) > maxPushBytes {
		return // too big for the client's receive buffer; it will poll
	}
	if _, err := d.push.conn.WriteToUDPAddrPort(msg, s.addr); err != nil {
		d.cfg.Logger.Debug("push failed", "to", s.addr.String(), "err", err)
	}
}

// maxPushBytes is the largest datagram nacos-sdk-go reads (its buffer is
// 4024 bytes); larger lists are left to polling.
const maxPushBytes = 4000
