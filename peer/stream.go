package peer

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"sync"
	"time"
)

// The peer stream: one long-lived connection from each node to each peer,
// carrying the same internal requests as the HTTP endpoints (same paths,
// same bodies, same handlers), pipelined: any number of requests may be
// in flight, answered in any order, and the writer puts every frame that
// is waiting into one write. The connection starts as an HTTP/1.1 request
// on the peer's HTTP port (POST /internal/v1/stream, signed and checked
// like every internal request) that the peer upgrades (101 Switching
// Protocols, stream_serve.go); from then on both sides exchange frames:
//
//	uint32 length of what follows (MAC included)
//	byte   kind: 1 request, 2 reply, 3 ping
//	uint32 id (a request's, echoed by its reply; 0 for a ping)
//	request: byte flags (bit 0 body is MessagePack, bit 1 accepts it),
//	         byte path length, path, body
//	reply:   uint16 status, byte flags (bit 0 body is MessagePack), body
//	[32 bytes HMAC-SHA256 when the cluster has a secret]
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
	// "use HTTP" and the caller asks again over HTTP.
	streamMaxFrame = 1 << 20
	// streamPing is how often a side with nothing else to send sends a
	// ping; streamIdle ends a connection that received nothing (pings
	// included) this long.
	streamPing = 5 * time.Second
	streamIdle = 4 * streamPing
	// streamInflight bounds the requests waiting for answers on one
	// outbound connection; streamHandlers bounds the requests one inbound
	// connection has being handled at once (the reader stops reading
	// beyond it, and TCP pushes back on the sender); streamQueue bounds
	// the frames waiting for the writer.
	streamInflight = 256
	streamHandlers = 32
	streamQueue    = 64

	frameRequest = 1
	frameReply   = 2
	framePing    = 3

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
	// errStreamDown means a request was not sent on the stream: the
	// caller sends it over HTTP.
	errStreamDown = errors.New("peer: stream down")
	errProtocol   = errors.New("peer: stream protocol error")
)

// frame is one message on the stream.
type frame struct {
	kind   byte
	id     uint32
	flags  byte
	path   string // request
	status uint16 // reply
	body   []byte
}

// session is one established stream connection, either side. A dialer's
// session (client) sends requests and reads answers; an acceptor's
// (handle set) reads requests, hands each to handle on a goroutine of its
// own, at most streamHandlers at once, and writes the answers.
type session struct {
	conn    net.Conn
	tcp     *net.TCPConn // conn's TCP connection, when it is one
	br      *bufio.Reader
	peer    string
	timeout time.Duration // bounds each write; a peer not reading fails the connection
	handle  func(ctx context.Context, f *frame) *frame

	// MACs: nil without a cluster secret. send and recv are the direction
	// bytes of this side's frames and of the peer's.
	wmac, rmac hash.Hash
	send, recv byte

	out   chan *frame   // frames for the writer
	slots chan struct{} // in-flight requests (client) or handlers (acceptor)

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once

	// mu guards pending, next and err.
	mu      sync.Mutex
	pending map[uint32]chan *frame
	next    uint32
	err     error
}

// newSession starts the reader and writer of conn, whose handshake is
// done (br holds what was read past it). key is the session key (nil: no
// MAC); client says which side this is.
func newSession(conn net.Conn, br *bufio.Reader, peer string, key []byte, client bool, timeout time.Duration,
	handle func(context.Context, *frame) *frame) *session {
	ctx, cancel := context.WithCancel(context.Background())
	s := &session{conn: conn, br: br, peer: peer, timeout: timeout, handle: handle, ctx: ctx, cancel: cancel,
		out: make(chan *frame, streamQueue), pending: map[uint32]chan *frame{}, send: 's', recv: 'c'}
	if client {
		s.send, s.recv = 'c', 's'
		s.slots = make(chan struct{}, streamInflight)
	} else {
		s.slots = make(chan struct{}, streamHandlers)
	}
	if key != nil {
		s.wmac, s.rmac = hmac.New(sha256.New, key), hmac.New(sha256.New, key)
	}
	raw := conn
	if tc, ok := conn.(*tls.Conn); ok {
		raw = tc.NetConn()
	}
	if cc, ok := raw.(*countedConn); ok {
		raw = cc.Conn
	}
	s.tcp, _ = raw.(*net.TCPConn)
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
func (s *session) fail(err error) {
	s.once.Do(func() {
		s.mu.Lock()
		s.err = err
		s.mu.Unlock()
		s.cancel()
		if s.tcp != nil {
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

// roundTrip sends a request and waits for its answer. An error wrapping
// errStreamDown means the request was not sent.
func (s *session) roundTrip(ctx context.Context, path string, flags byte, body []byte) (*frame, error) {
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.ctx.Done():
		return nil, errStreamDown
	}
	defer func() { <-s.slots }()
	ch := make(chan *frame, 1)
	s.mu.Lock()
	s.next++
	id := s.next
	s.pending[id] = ch
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.pending, id)
		s.mu.Unlock()
	}()
	select {
	case s.out <- &frame{kind: frameRequest, id: id, flags: flags, path: path, body: body}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.ctx.Done():
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
		// so the caller may send it again over HTTP.
		return nil, fmt.Errorf("%w: %v", errStreamDown, s.cause())
	}
}

// readLoop reads frames until the connection fails.
func (s *session) readLoop() {
	var seq uint64
	var hdr [4]byte
	for {
		_ = s.conn.SetReadDeadline(time.Now().Add(streamIdle))
		if _, err := io.ReadFull(s.br, hdr[:]); err != nil {
			s.fail(fmt.Errorf("peer: stream from %s: read: %w", s.peer, err))
			return
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n < frameHeader-4 || n > streamMaxFrame+512 {
			s.fail(fmt.Errorf("%w: frame of %d bytes from %s", errProtocol, n, s.peer))
			return
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(s.br, buf); err != nil {
			s.fail(fmt.Errorf("peer: stream from %s: read: %w", s.peer, err))
			return
		}
		f, err := s.open(buf, seq)
		seq++
		if err == nil {
			err = s.dispatch(f)
		}
		if err != nil {
			s.fail(err)
			return
		}
	}
}

// open checks a frame's MAC and parses it.
func (s *session) open(buf []byte, seq uint64) (*frame, error) {
	if s.rmac != nil {
		if len(buf) < macSize {
			return nil, fmt.Errorf("%w: frame without MAC from %s", errProtocol, s.peer)
		}
		body, mac := buf[:len(buf)-macSize], buf[len(buf)-macSize:]
		if !hmac.Equal(mac, frameMAC(s.rmac, s.recv, seq, body, nil)) {
			return nil, fmt.Errorf("%w: invalid frame MAC from %s (a different cluster secret, or tampering)", errUnauthorized, s.peer)
		}
		buf = body
	}
	return parseFrame(buf)
}

// parseFrame parses a frame without its length and MAC.
func parseFrame(b []byte) (*frame, error) {
	if len(b) < 5 {
		return nil, fmt.Errorf("%w: short frame", errProtocol)
	}
	f := &frame{kind: b[0], id: binary.BigEndian.Uint32(b[1:5])}
	b = b[5:]
	switch f.kind {
	case framePing:
	case frameRequest:
		if len(b) < 2 || len(b) < 2+int(b[1]) {
			return nil, fmt.Errorf("%w: short request", errProtocol)
		}
		f.flags, f.path, f.body = b[0], string(b[2:2+int(b[1])]), b[2+int(b[1]):]
	case frameReply:
		if len(b) < 3 {
			return nil, fmt.Errorf("%w: short reply", errProtocol)
		}
		f.status, f.flags, f.body = binary.BigEndian.Uint16(b), b[2], b[3:]
	default:
		return nil, fmt.Errorf("%w: unknown frame kind %d", errProtocol, f.kind)
	}
	if len(f.body) > streamMaxFrame {
		return nil, fmt.Errorf("%w: body of %d bytes", errProtocol, len(f.body))
	}
	return f, nil
}

// dispatch delivers an answer to its caller, or starts a request's
// handler once a handler slot is free.
func (s *session) dispatch(f *frame) error {
	switch {
	case f.kind == framePing:
		return nil
	case f.kind == frameReply && s.handle == nil:
		s.mu.Lock()
		ch := s.pending[f.id]
		s.mu.Unlock()
		if ch != nil {
			select {
			case ch <- f: // buffered 1: a second answer to one id is dropped
			default:
			}
		}
		return nil
	case f.kind == frameRequest && s.handle != nil:
		select {
		case s.slots <- struct{}{}:
		case <-s.ctx.Done():
			return s.cause()
		}
		s.wg.Go(func() {
			defer func() { <-s.slots }()
			r := s.handle(s.ctx, f)
			r.kind, r.id = frameReply, f.id
			select {
			case s.out <- r:
			case <-s.ctx.Done():
			}
		})
		return nil
	}
	return fmt.Errorf("%w: unexpected frame kind %d from %s", errProtocol, f.kind, s.peer)
}

// writeLoop writes queued frames, every frame waiting in one write, and
// a ping when there was nothing to write for streamPing.
func (s *session) writeLoop() {
	w := bufio.NewWriterSize(s.conn, streamBufBytes)
	ping := time.NewTicker(streamPing)
	defer ping.Stop()
	var seq uint64
	last := time.Now()
	for {
		var f *frame
		select {
		case <-s.ctx.Done():
			return
		case f = <-s.out:
		case <-ping.C:
			if time.Since(last) < streamPing/2 {
				continue
			}
			f = &frame{kind: framePing}
		}
		_ = s.conn.SetWriteDeadline(time.Now().Add(s.timeout))
		err := s.writeFrame(w, f, &seq)
	more:
		for err == nil {
			select {
			case f = <-s.out:
				err = s.writeFrame(w, f, &seq)
			default:
				break more
			}
		}
		if err == nil {
			err = w.Flush()
		}
		if err != nil {
			s.fail(fmt.Errorf("peer: stream to %s: write: %w", s.peer, err))
			return
		}
		last = time.Now()
	}
}

// writeFrame encodes f into w.
func (s *session) writeFrame(w *bufio.Writer, f *frame, seq *uint64) error {
	var hb [frameHeader + 2 + 255]byte
	h := hb[:4]
	h = append(h, f.kind)
	h = binary.BigEndian.AppendUint32(h, f.id)
	switch f.kind {
	case frameRequest:
		h = append(h, f.flags, byte(len(f.path)))
		h = append(h, f.path...)
	case frameReply:
		h = binary.BigEndian.AppendUint16(h, f.status)
		h = append(h, f.flags)
	}
	n := len(h) - 4 + len(f.body)
	if s.wmac != nil {
		n += macSize
	}
	binary.BigEndian.PutUint32(h, uint32(n))
	_, _ = w.Write(h)
	_, err := w.Write(f.body)
	if s.wmac != nil {
		_, err = w.Write(frameMAC(s.wmac, s.send, *seq, h[4:], f.body))
	}
	*seq++
	return err // a bufio.Writer's errors stick: this is the first, if any
}

// frameMAC computes the MAC of a frame (a and b, concatenated) sent in
// direction dir as number seq.
func frameMAC(m hash.Hash, dir byte, seq uint64, a, b []byte) []byte {
	var pre [9]byte
	pre[0] = dir
	binary.BigEndian.PutUint64(pre[1:], seq)
	m.Reset()
	m.Write(pre[:])
	m.Write(a)
	m.Write(b)
	return m.Sum(nil)
}
