package gossip

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// Traffic is what one node's gossip sent and received as bytes on the
// wire (after memberlist's own framing, labels and encryption): its UDP
// packets, and both directions of the TCP streams it opened (push-pull
// state exchanges, joins, fallback pings). A stream is counted by the node
// that dialed it only, as the peer connections are, so the sum over the
// nodes counts every byte once; incoming streams are handed to memberlist
// as they are.
type Traffic struct {
	SentBytes     uint64
	ReceivedBytes uint64
	// Suspicions counts the members this node suspected after a failed
	// probe; Refutations counts the suspicions of this node it refuted
	// (each one was a false suspicion by another node).
	Suspicions  uint64
	Refutations uint64
}

// trafficCounts are the counters behind Traffic.
type trafficCounts struct {
	sent, received, suspicions, refutations atomic.Uint64
}

func (c *trafficCounts) snapshot() Traffic {
	return Traffic{SentBytes: c.sent.Load(), ReceivedBytes: c.received.Load(),
		Suspicions: c.suspicions.Load(), Refutations: c.refutations.Load()}
}

// Traffic returns the bytes this node's gossip has sent and received and
// the suspicions it raised and refuted since Start.
func (g *Gossip) Traffic() Traffic { return g.counts.snapshot() }

// transport wraps memberlist's network transport: it counts the bytes of
// packets and of the streams it dials, and, when allow is set, drops
// every packet, and refuses every stream, to an address allow rejects. When two nodes each
// reject the other, the network between them is cut both ways; tests use
// that to partition a cluster on one host.
type transport struct {
	*memberlist.NetTransport
	allow  func(addr string) bool // nil allows every address
	counts *trafficCounts

	packets chan *memberlist.Packet
	done    chan struct{} // closed by Shutdown: the forwarder stops
	wg      sync.WaitGroup
	once    sync.Once
}

var _ memberlist.NodeAwareTransport = (*transport)(nil)

// newTransport binds a network transport on conf's bind address (port 0
// picks one) and starts the goroutine that counts the packets that
// arrive; it stops at Shutdown.
func newTransport(conf *memberlist.Config, allow func(string) bool, counts *trafficCounts) (*transport, error) {
	nt, err := bindNetTransport(conf)
	if err != nil {
		return nil, fmt.Errorf("gossip: transport: %w", err)
	}
	t := &transport{NetTransport: nt, allow: allow, counts: counts,
		packets: make(chan *memberlist.Packet), done: make(chan struct{})}
	t.wg.Go(t.forwardPackets)
	return t, nil
}

// autoBindTries bounds the attempts at a port picked by the system: the
// TCP port it picks may be taken for UDP by another process, as memberlist
// itself retries when it makes its own transport.
const autoBindTries = 10

// bindNetTransport makes memberlist's network transport on conf's bind
// address; with port 0 it tries again when the picked port cannot be
// bound for both TCP and UDP.
func bindNetTransport(conf *memberlist.Config) (*memberlist.NetTransport, error) {
	tries := 1
	if conf.BindPort == 0 {
		tries = autoBindTries
	}
	var err error
	for range tries {
		var nt *memberlist.NetTransport
		nt, err = memberlist.NewNetTransport(&memberlist.NetTransportConfig{
			BindAddrs:    []string{conf.BindAddr},
			BindPort:     conf.BindPort,
			Logger:       conf.Logger,
			MetricLabels: conf.MetricLabels,
		})
		if err == nil {
			return nt, nil
		}
	}
	return nil, err
}

func (t *transport) forwardPackets() {
	in := t.NetTransport.PacketCh()
	for {
		select {
		case p := <-in:
			t.counts.received.Add(uint64(len(p.Buf)))
			select {
			case t.packets <- p:
			case <-t.done:
				return
			}
		case <-t.done:
			return
		}
	}
}

// PacketCh returns the counted packets.
func (t *transport) PacketCh() <-chan *memberlist.Packet { return t.packets }

// Shutdown closes the sockets and stops the forwarders.
func (t *transport) Shutdown() error {
	err := t.NetTransport.Shutdown()
	t.once.Do(func() { close(t.done) })
	t.wg.Wait() // the packet forwarder
	return err
}

func (t *transport) allowed(addr string) bool { return t.allow == nil || t.allow(addr) }

// WriteTo sends a packet; it drops it, as a cut network would, when addr
// is blocked.
func (t *transport) WriteTo(b []byte, addr string) (time.Time, error) {
	if !t.allowed(addr) {
		return time.Now(), nil
	}
	at, err := t.NetTransport.WriteTo(b, addr)
	if err == nil {
		t.counts.sent.Add(uint64(len(b)))
	}
	return at, err
}

// WriteToAddress is WriteTo for memberlist's node-aware path.
func (t *transport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	return t.WriteTo(b, a.Addr)
}

// DialTimeout opens a counted stream; it fails when addr is blocked.
func (t *transport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	if !t.allowed(addr) {
		return nil, fmt.Errorf("gossip: dial %s: blocked by the address filter", addr)
	}
	c, err := t.NetTransport.DialTimeout(addr, timeout)
	if err != nil {
		return nil, err
	}
	return &countedConn{Conn: c, counts: t.counts}, nil
}

// DialAddressTimeout is DialTimeout for memberlist's node-aware path.
func (t *transport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	return t.DialTimeout(a.Addr, timeout)
}

// countedConn counts a stream's bytes both ways.
type countedConn struct {
	net.Conn
	counts *trafficCounts
}

func (c *countedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.counts.received.Add(uint64(n))
	return n, err
}

func (c *countedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.counts.sent.Add(uint64(n))
	return n, err
}
