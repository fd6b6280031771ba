package nacos

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/roster-io/roster/internal/param"
	"github.com/roster-io/roster/store"
)

// UDP push to Nacos clients, as Nacos 1.4's PushService does it. A Nacos
// 1.x client that lists a service with udpPort>0 listens there for
// pushes; roster sends the new list as soon as the service changes, and
// the client acknowledges each push. A push not acknowledged within the
// ack timeout (10 s, as in Nacos) is sent once more; one still not
// acknowledged then counts as failed, and the client's next poll heals it.
//
// The push goes to the address the list request came from, not to its
// clientIP parameter, unless the door is configured to trust clientIP
// (PushToClientIP, for clients behind NAT whose source address is not
// where they listen): otherwise any caller could aim pushes at a third
// party. A subscription lapses when the client stops polling. The
// subscriptions and pending acknowledgements are bounded (below).

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
	// maxSubText bounds the agent and app a subscription keeps, in bytes.
	maxSubText = 256
	// maxPending is how many unacknowledged pushes are tracked; pushes
	// beyond it are sent without a retry.
	maxPending = 2 * maxSubs
)

// Datagram sizes. The Java client reads pushes into a 64 KiB buffer;
// nacos-sdk-go (and, by default, any other client) into 4024 bytes. A
// list too large for its client's buffer is not pushed: that client polls.
const (
	maxPushJava  = 65507 // the largest UDP payload over IPv4
	maxPushOther = 4000
)

// subKey identifies a subscription: what the client lists and where it
// listens.
type subKey struct {
	key         store.Key
	clusters    string // as sent: pushes echo it, as the list does
	healthyOnly bool
	addr        netip.AddrPort
}

// subReq is a subscription as a list request asks for it.
type subReq struct {
	subKey
	agent string // User-Agent, as Nacos reports subscribers
	app   string
}

// pushSub is one subscription.
type pushSub struct {
	subReq
	maxBytes    int
	lastSeen    time.Time
	pushedIndex uint64
}

// ackKey identifies a push awaiting its acknowledgement, as Nacos keys
// it: the client's address and the push's lastRefTime.
type ackKey struct {
	addr netip.AddrPort
	ref  int64
}

// pending is a push awaiting its acknowledgement.
type pending struct {
	msg     []byte
	sent    time.Time
	retried bool
}

// pushCounts are the push counters (operator/push/state, metrics).
type pushCounts struct {
	Total    uint64 // pushes sent (a retry is not another push)
	Acked    uint64
	Retried  uint64
	Failed   uint64 // not acknowledged after the retry, or not sent
	TooLarge uint64 // lists too large for the client's buffer
}

// pusher tracks subscriptions and pending pushes and sends pushes. It is
// safe for concurrent use.
type pusher struct {
	conn *net.UDPConn

	// mu guards every field below.
	mu      sync.Mutex
	subs    map[subKey]*pushSub
	perIP   map[netip.Addr]int // subscriptions by client IP
	refused uint64             // subscriptions not taken for a bound
	acks    map[ackKey]*pending
	counts  pushCounts
	lastRef int64 // the last lastRefTime handed out
}

// newPusher opens the UDP socket pushes leave from (and acks arrive at),
// on the host of the bound HTTP address.
func newPusher(httpAddr string) (*pusher, error) {
	host, _, err := net.SplitHostPort(httpAddr)
	if err != nil {
		return nil, fmt.Errorf("push socket: %w", err)
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(host)})
	if err != nil {
		return nil, fmt.Errorf("push socket: %w", err)
	}
	return &pusher{conn: conn, subs: map[subKey]*pushSub{}, perIP: map[netip.Addr]int{}, acks: map[ackKey]*pending{}}, nil
}

// subscription builds the subscription a list request asks for: pushes go
// to the request's source IP (or, with PushToClientIP, to a valid clientIP
// parameter) at udpPort.
func (d *Door) subscription(r *http.Request, p param.Values, k store.Key, clusters string, healthyOnly bool, udpPort int) subReq {
	ip := netip.Addr{}
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		ip = ap.Addr().Unmap()
	}
	if d.cfg.PushToClientIP {
		if c, err := netip.ParseAddr(strings.TrimSpace(p.Get("clientIP"))); err == nil && !c.IsUnspecified() {
			ip = c.Unmap()
		}
	}
	sk := subKey{key: k, clusters: clusters, healthyOnly: healthyOnly}
	if ip.IsValid() && udpPort > 0 && udpPort <= 65535 {
		sk.addr = netip.AddrPortFrom(ip, uint16(udpPort))
	}
	return subReq{subKey: sk, agent: r.UserAgent(), app: p.Get("app")}
}

// maxBytesFor returns the largest push a client with this User-Agent reads.
func maxBytesFor(agent string) int {
	if strings.HasPrefix(agent, "Nacos-Java-Client") {
		return maxPushJava
	}
	return maxPushOther
}

// cut returns s cut to n bytes, as its own copy.
func cut(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.Clone(s)
}

// subscribe records (or refreshes) a subscription. It reports whether the
// client is subscribed: a new subscription beyond a bound is not taken.
func (p *pusher) subscribe(req subReq, index uint64, now time.Time) bool {
	if !req.addr.IsValid() || req.addr.Port() == 0 {
		return false
	}
	ip := req.addr.Addr()
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.subs[req.subKey]; ok {
		s.lastSeen = now
		return true
	}
	if len(p.subs) >= maxSubs || p.perIP[ip] >= maxSubsPerIP || len(req.clusters) > maxSubClusters {
		p.refused++
		return false
	}
	// Copies, so the subscription does not keep the request's strings.
	k := req.key
	req.key = store.Key{Namespace: strings.Clone(k.Namespace), Group: strings.Clone(k.Group), Service: strings.Clone(k.Service)}
	req.clusters = strings.Clone(req.clusters)
	req.agent, req.app = cut(req.agent, maxSubText), cut(req.app, maxSubText)
	p.subs[req.subKey] = &pushSub{subReq: req, maxBytes: maxBytesFor(req.agent), lastSeen: now, pushedIndex: index}
	p.perIP[ip]++
	return true
}

// due returns the subscriptions whose service changed since their last
// push, marking them pushed, and drops those not renewed within ttl.
func (p *pusher) due(index func(store.Key) uint64, now time.Time, ttl time.Duration) []pushSub {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []pushSub
	for sk, s := range p.subs {
		if now.Sub(s.lastSeen) > ttl {
			p.dropLocked(sk)
			continue
		}
		if idx := index(s.key); idx > s.pushedIndex {
			s.pushedIndex = idx
			out = append(out, *s)
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

// subscribers returns the subscriptions to service k (every service when
// k is the zero key).
func (p *pusher) subscribers(k store.Key) []pushSub {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []pushSub
	for _, s := range p.subs {
		if k == (store.Key{}) || s.key == k {
			out = append(out, *s)
		}
	}
	return out
}

// stats returns the push counters and how many subscriptions there are.
func (p *pusher) stats() (pushCounts, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts, len(p.subs)
}
