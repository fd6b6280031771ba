package grpcdoor

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"google.golang.org/grpc/stats"

	"github.com/roster-io/roster/door/grpcdoor/pb"
	"github.com/roster-io/roster/store"
)

// A connection is one client transport (one TCP connection carrying
// HTTP/2). The stats handler learns of it when it opens and closes; the
// listener keeps its socket, so the door can close a transport that
// misbehaves.

// releaseTimeout bounds deregistering a closed connection's instances.
const releaseTimeout = 10 * time.Second

// conn is one client connection.
type conn struct {
	d      *Door
	id     string
	remote string
	nc     net.Conn // the transport's socket; nil if unknown
	out    chan *pb.Payload
	wake   chan struct{}
	opened time.Time

	// mu guards everything below.
	mu         sync.Mutex
	setup      bool
	streaming  bool
	closed     bool
	version    string
	app        string // the "app" header of its requests, as Nacos reports subscribers
	labels     map[string]string
	lastActive time.Time
	lastRef    int64
	pending    map[subKey]bool           // services to push
	unacked    map[string]pushWait       // pushes awaiting their ack, by request id
	detecting  time.Time                 // when a ClientDetectionRequest went out; zero: none
	subs       map[subKey]bool           // subscriptions
	timer      *time.Timer               // the setup timeout
	release    func(ctx context.Context) // set once set up
}

// subKey is one subscription: a service and the clusters asked for.
type subKey struct {
	k        store.Key
	clusters string
}

// pushWait is a push awaiting its ack.
type pushWait struct {
	sub   subKey
	sent  time.Time
	reset bool // a ConnectResetRequest, not a push
}

type connKey struct{}

// connOf returns the connection of a request's context.
func connOf(ctx context.Context) *conn {
	c, _ := ctx.Value(connKey{}).(*conn)
	return c
}

func (c *conn) isSetup() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.setup && !c.closed
}

// awaits reports whether c still owes the answer to server request id:
// it is unanswered, within the ack timeout, and the stream is open.
func (c *conn) awaits(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.unacked[id]
	return ok && c.streaming && !c.closed
}

func (c *conn) touch() {
	c.mu.Lock()
	c.lastActive = c.d.cfg.Now()
	c.detecting = time.Time{}
	c.mu.Unlock()
}

// refTime returns a lastRefTime for a list sent to this connection: the
// clock in ms, but always past the previous one, since clients drop a
// list no newer than the one they hold.
func (c *conn) refTime() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lastRef = max(c.d.cfg.Now().UnixMilli(), c.lastRef+1)
	return c.lastRef
}

// send queues a server request for the stream; a connection too slow to
// take it is closed.
func (c *conn) send(p *pb.Payload) {
	select {
	case c.out <- p:
	default:
		c.d.cfg.Logger.Warn("grpc client does not read its stream; closing it", "conn", c.id)
		c.closeTransport()
	}
}

// closeTransport closes the transport's socket; the stats handler then
// releases the connection.
func (c *conn) closeTransport() {
	if c.nc != nil {
		_ = c.nc.Close()
	}
}

// statsHandler learns of transports opening and closing.
type statsHandler struct{ d *Door }

func (h statsHandler) TagConn(ctx context.Context, info *stats.ConnTagInfo) context.Context {
	return context.WithValue(ctx, connKey{}, h.d.open(info.RemoteAddr))
}

func (h statsHandler) HandleConn(ctx context.Context, s stats.ConnStats) {
	c := connOf(ctx)
	if c == nil {
		return
	}
	if _, ok := s.(*stats.ConnEnd); ok {
		h.d.closeConn(c)
	}
}

func (statsHandler) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }
func (statsHandler) HandleRPC(context.Context, stats.RPCStats)                       {}

// open registers a new transport from remote and starts its setup
// timeout. Beyond MaxConnections it is closed at once.
func (d *Door) open(remote net.Addr) *conn {
	now := d.cfg.Now()
	c := &conn{d: d, remote: remote.String(), out: make(chan *pb.Payload, 256), wake: make(chan struct{}, 1),
		opened: now, lastActive: now, pending: map[subKey]bool{}, unacked: map[string]pushWait{}, subs: map[subKey]bool{}}
	host, port, _ := net.SplitHostPort(c.remote)
	c.id = strconv.FormatInt(now.UnixMilli(), 10) + "_" + host + "_" + port
	d.mu.Lock()
	if d.ln != nil {
		c.nc = d.ln.take(c.remote)
	}
	full := d.cfg.MaxConnections > 0 && len(d.conns) >= d.cfg.MaxConnections
	if !full {
		d.conns[c.id] = c
	}
	d.mu.Unlock()
	if full {
		d.metrics.refused.Inc()
		d.cfg.Logger.Warn("grpc connection refused: too many connections (max connections)", "remote", c.remote, "max", d.cfg.MaxConnections)
		c.closeTransport()
		return c
	}
	d.metrics.opened.Inc()
	c.mu.Lock()
	c.timer = time.AfterFunc(d.cfg.SetupTimeout, func() {
		if !c.isSetup() {
			d.metrics.setupTimeouts.Inc()
			d.cfg.Logger.Info("grpc connection closed: no ConnectionSetupRequest in time", "conn", c.id, "timeout", d.cfg.SetupTimeout)
			c.closeTransport()
		}
	})
	c.mu.Unlock()
	return c
}

// closeConn forgets a closed transport: its subscriptions end and its
// instances are deregistered at once.
func (d *Door) closeConn(c *conn) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	if c.timer != nil {
		c.timer.Stop()
	}
	release := c.release
	c.mu.Unlock()
	d.mu.Lock()
	if d.conns[c.id] == c {
		delete(d.conns, c.id)
	}
	d.mu.Unlock()
	d.metrics.closed.Inc()
	d.hub.dropConn(c)
	if release == nil {
		return
	}
	d.wg.Go(func() {
		ctx, cancel := context.WithTimeout(d.ctx, releaseTimeout)
		defer cancel()
		release(ctx)
	})
}

// sweep runs every ack timeout / 2: it re-sends pushes whose ack is
// overdue, probes silent connections with ClientDetectionRequest and
// closes those that did not answer one.
func (d *Door) sweep() {
	t := time.NewTicker(d.cfg.AckTimeout / 2)
	defer t.Stop()
	for {
		select {
		case <-d.ctx.Done():
			return
		case <-t.C:
		}
		now := d.cfg.Now()
		for _, c := range d.list() {
			d.sweepConn(c, now)
		}
	}
}

func (d *Door) sweepConn(c *conn, now time.Time) {
	c.mu.Lock()
	if !c.setup || c.closed {
		c.mu.Unlock()
		return
	}
	retry := false
	for id, w := range c.unacked {
		if now.Sub(w.sent) >= d.cfg.AckTimeout {
			delete(c.unacked, id)
			if c.subs[w.sub] {
				c.pending[w.sub] = true
				retry = true
			}
		}
	}
	dead := !c.detecting.IsZero() && now.Sub(c.detecting) >= d.cfg.AckTimeout
	probe := c.detecting.IsZero() && now.Sub(c.lastActive) >= d.cfg.DetectIdle
	if probe {
		c.detecting = now
	}
	c.mu.Unlock()
	switch {
	case dead:
		d.metrics.detectFailures.Inc()
		d.cfg.Logger.Info("grpc connection closed: no answer to ClientDetectionRequest", "conn", c.id)
		c.closeTransport()
		return
	case probe:
		c.send(payload("ClientDetectionRequest", request{RequestID: d.nextPushID(), Module: "internal"}))
	}
	if retry {
		d.metrics.pushRetries.Inc()
		c.signal()
	}
}

// listener keeps the sockets of accepted transports until the stats
// handler claims them.
type listener struct {
	net.Listener
	mu     sync.Mutex
	byAddr map[string]net.Conn
}

func newListener(ln net.Listener) *listener {
	return &listener{Listener: ln, byAddr: map[string]net.Conn{}}
}

func (l *listener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: nc, l: l, addr: nc.RemoteAddr().String()}
	l.mu.Lock()
	l.byAddr[tc.addr] = tc
	l.mu.Unlock()
	return tc, nil
}

// take hands over the socket from remote address addr.
func (l *listener) take(addr string) net.Conn {
	l.mu.Lock()
	defer l.mu.Unlock()
	nc := l.byAddr[addr]
	delete(l.byAddr, addr)
	return nc
}

// trackedConn leaves the listener's table when closed.
type trackedConn struct {
	net.Conn
	l    *listener
	addr string
	once sync.Once
}

func (t *trackedConn) Close() error {
	t.once.Do(func() {
		t.l.mu.Lock()
		if t.l.byAddr[t.addr] == t {
			delete(t.l.byAddr, t.addr)
		}
		t.l.mu.Unlock()
	})
	return t.Conn.Close()
}

func (c *conn) String() string { return fmt.Sprintf("%s (%s)", c.id, c.remote) }
