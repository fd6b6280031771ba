package nacos

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"strconv"
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

// pushSub is one subscription.
type pushSub struct {
	key         store.Key
	clusters    string
	healthyOnly bool
	addr        netip.AddrPort
	lastSeen    time.Time
	pushedIndex uint64
}

// pusher tracks subscriptions and sends pushes. It is safe for concurrent
// use.
type pusher struct {
	conn *net.UDPConn

	// mu guards subs.
	mu   sync.Mutex
	subs map[string]*pushSub
}

// pushMessage is what a Nacos client expects on its UDP port.
type pushMessage struct {
	Type        string `json:"type"`
	Data        string `json:"data"`
	LastRefTime int64  `json:"lastRefTime"`
}

// subscribe records (or refreshes) a subscription from an instance/list
// request by the client at remote asking for pushes on udpPort.
func (p *pusher) subscribe(k store.Key, clusters string, healthyOnly bool, remote string, udpPort int, index uint64, now time.Time) {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil || udpPort <= 0 || udpPort > 65535 {
		return
	}
	addr := netip.AddrPortFrom(ap.Addr().Unmap(), uint16(udpPort))
	id := k.String() + "|" + clusters + "|" + strconv.FormatBool(healthyOnly) + "|" + addr.String()
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.subs[id]; ok {
		s.lastSeen = now
		return
	}
	p.subs[id] = &pushSub{key: k, clusters: clusters, healthyOnly: healthyOnly, addr: addr, lastSeen: now, pushedIndex: index}
}

// due returns the subscriptions whose service changed since their last
// push, marking them pushed, and drops those not renewed within ttl.
func (p *pusher) due(core *node.Node, now time.Time, ttl time.Duration) []*pushSub {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*pushSub
	for id, s := range p.subs {
		if now.Sub(s.lastSeen) > ttl {
			delete(p.subs, id)
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
	return &pusher{conn: conn, subs: map[string]*pushSub{}}, nil
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
	filter, err := splitClusters(s.clusters)
	if err != nil {
		return
	}
	body := snap.Cached("nacos|"+strconv.FormatBool(s.healthyOnly)+"|"+s.clusters, func() []byte {
		return d.encodeList(snap, s.clusters, filter, s.healthyOnly)
	})
	msg, err := json.Marshal(pushMessage{Type: "dom", Data: string(body), LastRefTime: time.Now().UnixNano()})
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
