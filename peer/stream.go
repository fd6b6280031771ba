package peer

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// The peer stream: one long-lived connection between two nodes, carrying
// the same internal requests as the HTTP endpoints (same paths, same
// bodies, same handlers), pipelined: any number of requests may be in
// flight, answered in any order, and the writer puts every frame that is
// waiting into one write. The connection starts as an HTTP/1.1 request
// on the peer's HTTP port (POST /internal/v1/stream, signed and checked
// like every internal request) that the peer upgrades (101 Switching
// Protocols, stream_serve.go); from then on both sides exchange frames:
//
//	uint32 length of what follows (MAC included)
//	byte   kind: 1 request, 2 reply, 3 ping, 4 go-away
//	uint32 id (a request's, echoed by its reply; 0 for a ping or go-away)
//	request: byte flags (bit 0 body is MessagePack, bit 1 accepts it),
//	         byte path length, path, body
//	reply:   uint16 status, byte flags (bit 0 body is MessagePack), body
//	[32 bytes HMAC-SHA256 when the cluster has a secret]
//
// A duplex connection (both sides asked for it in the handshake) carries
// requests both ways: each side numbers its own requests, and a reply
// answers the request of the other side with its id. A one-way
// connection (with a build that predates duplex connections, or a node
// that does not send over streams) carries the dialing side's requests
// only. A go-away, on a duplex connection only, says the sender starts no
// more requests on it (stream_drain.go).
//
// The MAC is keyed with a session key derived from the cluster key and
// both sides' nonces (stream_dial.go) and covers the direction, the
// frame's sequence number in that direction and the frame, so a frame
// cannot be forged, altered, replayed, reordered or reflected.

const (
	streamPath  = "/internal/v1/stream"
	streamProto = "roster-peer/1"
	// streamMaxFrame bounds a frame's body. A request whose body is larger
	// goes as an HTTP request; an answer that would be larger is answered
	// "use HTTP" and the caller asks again over HTTP (or, for pulls, asks
	// for fewer partitions at a time: dump.go).
	streamMaxFrame = 1 << 20
	// streamInflight bounds the requests one side has waiting for answers
	// on one connection, and the peer's requests it holds at once;
	// streamInBytes bounds the bodies of those (the reader stops reading
	// beyond either, and TCP pushes back on the sender); streamHandlers
	// bounds the peer's requests being handled at once; streamQueue
	// bounds the frames waiting for the writer.
	streamInflight = 256
	streamInBytes  = 32 << 20
	streamHandlers = 32
	streamQueue    = 64

	frameRequest = 1
	frameReply   = 2
	framePing    = 3
	frameGoAway  = 4

	flagMsgpack = 1 // the body is MessagePack (else JSON)
	flagAccept  = 2 // the caller accepts a MessagePack answer

	// statusUseHTTP answers a request the stream does not carry (an
	// unknown path, an answer over streamMaxFrame): ask over HTTP.
	statusUseHTTP = 1

	macSize        = sha256.Size
	frameHeader    = 4 + 1 + 4
	streamBufBytes = 64 << 10
)

var (
	// errStreamDown means a request was not sent on the stream (or its
	// connection broke before the answer): the caller sends it over
	// another connection or HTTP.
	errStreamDown = errors.New("peer: stream down")
	errProtocol   = errors.New("peer: stream protocol error")
	// errDrained ends a connection both sides finished with after
	// go-aways.
	errDrained = errors.New("peer: stream drained")
)

// frame is one message on the stream.
type frame struct {
	kind   byte
	id     uint32
	flags  byte
	path   string // request
	status uint16 // reply
	body   []byte
	pooled bool   // body is a pooled buffer, released once written
	pool   []byte // the pooled buffer a request was read into, released once served
}

// sessionConfig describes one side of a connection.
type sessionConfig struct {
	peer    string
	key     []byte // the session key; nil: no MAC
	dialer  bool   // this side dialed
	duplex  bool   // both sides send requests
	timeout time.Duration
	pings   pingPlan // how the connection is kept checked (stream_ping.go)
	// pingBytes counts the bytes of the pings this side writes.
	pingBytes *atomic.Uint64
	// handle answers the peer's requests; nil on a one-way dialer.
	handle func(ctx context.Context, f *frame) *frame
	// msgpackBeats: both sides agreed to beat hand-offs in MessagePack
	// (stream_msgpack.go).
	msgpackBeats bool
}

// session is one established stream connection, either side. A side that
// sends (the dialer, or either side of a duplex connection) writes
// requests and reads their answers; a side that serves (the acceptor, or
// either side of a duplex connection) reads requests, hands each to
// handle on a goroutine of its own, at most streamHandlers at once, and
// writes the answers.
type session struct {
	conn    net.Conn
	tcp     *net.TCPConn // conn's TCP connection, when it is one
	br      *bufio.Reader
	peer    string
	timeout time.Duration // bounds each write; a peer not reading fails the connection
	pings   pingPlan
	// pingBytes counts the bytes of the pings written (nil: not counted).
	pingBytes *atomic.Uint64
	handle    func(ctx context.Context, f *frame) *frame
	sends     bool
	duplex    bool
	// msgpackBeats: beat hand-offs go as MessagePack (stream_msgpack.go).
	msgpackBeats bool

	// MACs: nil without a cluster secret. send and recv are the direction
	// bytes of this side's frames and of the peer's.
	wmac, rmac hash.Hash
	send, recv byte

	out      chan *frame   // frames for the writer
	inflight chan struct{} // this side's requests waiting for answers
	handlers chan struct{} // the peer's requests being handled
	room     chan struct{} // cap 1: a peer's request was answered (the reader may admit more)
	kick     chan struct{} // cap 1: the writer checks the drain again
	pong     chan struct{} // cap 1: the writer answers a ping

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once

	// mu guards everything below.
	mu      sync.Mutex
	pending map[uint32]chan *frame
	next    uint32
	err     error
	// inReqs and inBytes are the peer's requests admitted and not yet
	// answered, and their bodies' bytes.
	inReqs, inBytes int
	// sending counts this side's requests registered whose frames are
	// not queued yet: the go-away waits for them.
	sending int
	// draining: no new requests from this side; goAwaySent, goAwayRecv:
	// the go-aways written and read.
	draining, goAwaySent, goAwayRecv bool
}

// newSession starts the reader and writer of conn, whose handshake is
// done (br holds what was read past it).
func newSession(conn net.Conn, br *bufio.Reader, c sessionConfig) *session {
	ctx, cancel := context.WithCancel(context.Background())
	s := &session{conn: conn, br: br, peer: c.peer, timeout: c.timeout, pings: c.pings, pingBytes: c.pingBytes, handle: c.handle, duplex: c.duplex,
		msgpackBeats: c.msgpackBeats,
		sends:        c.dialer || c.duplex, ctx: ctx, cancel: cancel, out: make(chan *frame, streamQueue),
		pending: map[uint32]chan *frame{}, send: 's', recv: 'c',
		handlers: make(chan struct{}, streamHandlers), inflight: make(chan struct{}, streamInflight),
		room: make(chan struct{}, 1), kick: make(chan struct{}, 1), pong: make(chan struct{}, 1)}
	if c.dialer {
		s.send, s.recv = 'c', 's'
	}
	if c.key != nil {
		s.wmac, s.rmac = hmac.New(sha256.New, c.key), hmac.New(sha256.New, c.key)
	}
	raw := conn
	for range 4 { // TLS, the transport's counting, the gate's timing
		if cc, ok := raw.(*countedConn); ok {
			raw = cc.Conn
		} else if w, ok := raw.(interface{ NetConn() net.Conn }); ok {
			raw = w.NetConn()
		}
	}
	s.tcp, _ = raw.(*net.TCPConn)
	if s.tcp != nil {
		// The pings check the connection (stream_ping.go); the kernel's
		// keep-alive probes would only add segments to an idle one.
		_ = s.tcp.SetKeepAlive(false)
	}
	_ = conn.SetDeadline(time.Time{})
	s.wg.Go(s.readLoop)
	s.wg.Go(s.writeLoop)
	return s
}

// fail ends the session with err (the first error sticks): the
// connection closes, so the reader and writer return. What this side
// had written and the peer had not acknowledged is discarded (a reset,
// not a graceful close): requests a partition held back must not be
// delivered when it heals, after their senders gave up on them.
func (s *session) fail(err error) { s.end(err, true) }

// end ends the session with err; reset discards what the peer has not
// acknowledged, else the connection closes gracefully (after a drain,
// when everything written must arrive).
func (s *session) end(err error, reset bool) {
	s.once.Do(func() {
		s.mu.Lock()
		s.err = err
		s.mu.Unlock()
		s.cancel()
		if s.tcp != nil && reset {
			_ = s.tcp.SetLinger(0)
		}
		_ = s.conn.Close()
	})
}

// close ends the session and waits for its goroutines.
func (s *session) close() {
	s.fail(errors.New("peer: stream closed"))
	s.wg.Wait()
}

// done is closed when the session ended.
func (s *session) done() <-chan struct{} { return s.ctx.Done() }

// cause returns why the session ended.
func (s *session) cause() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// poke wakes the writer to check the drain again.
func (s *session) poke() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// roundTrip sends a request and waits for its answer. An error wrapping
// errStreamDown means the request was not sent, or its connection broke
// before the answer.
func (s *session) roundTrip(ctx context.Context, path string, flags byte, body []byte, pooled bool) (*frame, error) {
	if !s.sends {
		return nil, errStreamDown
	}
	select {
	case s.inflight <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.ctx.Done():
		return nil, errStreamDown
	}
	defer func() { <-s.inflight }()
	ch := make(chan *frame, 1)
	s.mu.Lock()
	if s.draining {
		s.mu.Unlock()
		return nil, errStreamDown
	}
	s.next++
	id := s.next
	s.pending[id] = ch
	s.sending++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.pending, id)
		s.mu.Unlock()
		s.poke()
	}()
	queued := false
	select {
	case s.out <- &frame{kind: frameRequest, id: id, flags: flags, path: path, body: body, pooled: pooled}:
		queued = true
	case <-ctx.Done():
	case <-s.ctx.Done():
	}
	s.mu.Lock()
	s.sending--
	s.mu.Unlock()
	switch {
	case !queued && ctx.Err() != nil:
		return nil, ctx.Err()
	case !queued:
		return nil, errStreamDown
	}
	select {
	case r := <-ch:
		return r, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.ctx.Done():
		// Sent, or about to be, when the connection broke: the outcome
		// is unknown. Every internal request is safe to repeat (merges
		// are by version, beats and reports idempotent, the rest reads),
		// so the caller may send it again.
		return nil, fmt.Errorf("%w: %v", errStreamDown, s.cause())
	}
}
