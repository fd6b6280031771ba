package peer

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// The accepting side of the stream (and the serving side of a duplex
// connection this node dialed). POST /internal/v1/stream passes the
// same checks as every internal request (signature, member, source host);
// its connection is then taken from the HTTP server and carries frames.
// Each request frame is handled by the handler its path names on the
// HTTP port (route), with the same checks of its body, after the sender
// is checked again (still a member, from its host). A path the stream
// does not carry is answered statusUseHTTP.

// route registers an internal endpoint: on mux, behind the signature and
// membership checks, and, for POST, on the stream.
func (s *Server) route(mux *http.ServeMux, pattern string, fn handlerFunc) {
	mux.HandleFunc(pattern, s.internal(fn))
	if path, ok := strings.CutPrefix(pattern, http.MethodPost+" "); ok {
		s.streamRoutes[path] = fn
	}
}

// handlerFunc is an internal endpoint's handler; from is the checked
// sender.
type handlerFunc func(w http.ResponseWriter, r *http.Request, from Member)

// accepted is the set of a server's accepted streams.
type accepted struct {
	// mu guards set and closed.
	mu     sync.Mutex
	set    map[*session]struct{}
	closed bool
	wg     sync.WaitGroup
}

// acceptStream handles POST /internal/v1/stream: it upgrades the
// connection to the stream.
func (s *Server) acceptStream(w http.ResponseWriter, r *http.Request, from Member) {
	if r.ProtoMajor != 1 || !headerHasToken(r.Header, "Connection", "upgrade") || !strings.EqualFold(r.Header.Get("Upgrade"), streamProto) {
		writeError(w, &RemoteError{Status: http.StatusBadRequest, Msg: "peer: stream: want an HTTP/1.1 request with Connection: Upgrade and Upgrade: " + streamProto})
		return
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		writeError(w, fmt.Errorf("peer: stream: %w", err))
		return
	}
	nonce := newNonce()
	asked := r.Header.Get(streamDuplexHeader) == "1"
	// Duplex when both ask: this node sends over streams (with
	// --peer-stream=false it only answers, so the peer dials its own).
	duplex := asked && s.cfg.Stream
	var key []byte
	head := "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: " + streamProto + "\r\n" +
		streamNonceHeader + ": " + nonce + "\r\n"
	if duplex {
		head += streamDuplexHeader + ": 1\r\n"
	}
	// The dialer's ping interval, agreed by naming it back; a dialer
	// that names none predates it and gets the pings it expects.
	pings := legacyPings(s.cfg.StreamPing)
	ping, agreed := parsePing(r.Header.Get(streamPingHeader))
	if agreed {
		pings = agreedPings(ping, false)
		head += streamPingHeader + ": " + formatPing(ping) + "\r\n"
	}
	// Beat hand-offs in MessagePack, when the dialer asks for them.
	mpBeats := s.t.msgpackBeats && asksMsgpackBeats(r.Header)
	if mpBeats {
		head += streamMsgpackHeader + ": " + msgpackBeats + "\r\n"
	}
	if s.key != nil {
		key = sessionKey(s.key, r.Header.Get(nonceHeader), nonce, from.Name, s.cfg.Self, duplex, ping, mpBeats)
		head += streamProofHeader + ": " + streamProof(key) + "\r\n"
	}
	_ = conn.SetDeadline(time.Now().Add(s.cfg.Timeout))
	_, err = brw.WriteString(head + "\r\n")
	if err == nil {
		err = brw.Flush()
	}
	if err != nil {
		_ = conn.Close()
		return
	}
	remote := r.RemoteAddr
	sess := newSession(conn, brw.Reader, sessionConfig{peer: from.Name, key: key, duplex: duplex, timeout: s.cfg.Timeout,
		pings: pings, pingBytes: &s.stats.StreamPingBytes, msgpackBeats: mpBeats,
		handle: func(ctx context.Context, f *frame) *frame { return s.serveFrame(ctx, from.Name, remote, f) }})
	if !s.streams.add(sess) {
		return
	}
	switch {
	case duplex:
		s.t.adopt(from, sess)
	case !asked:
		s.t.peerOneWay(from)
	}
}

// add keeps sess until it ends or the server closes; false when the
// server closed (sess is closed then).
func (in *accepted) add(sess *session) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed {
		sess.close() // its goroutines hold no lock of ours
		return false
	}
	if in.set == nil {
		in.set = map[*session]struct{}{}
	}
	in.set[sess] = struct{}{}
	in.wg.Go(func() {
		<-sess.done()
		sess.close()
		in.mu.Lock()
		delete(in.set, sess)
		in.mu.Unlock()
	})
	return true
}

// close ends every accepted stream and waits for their goroutines.
func (in *accepted) close() {
	in.mu.Lock()
	in.closed = true
	all := make([]*session, 0, len(in.set))
	for sess := range in.set {
		all = append(all, sess)
	}
	in.mu.Unlock()
	for _, sess := range all {
		sess.fail(errStreamDown)
	}
	in.wg.Wait()
}

// Close ends the streams peers opened to this node (the HTTP server does
// not close connections it handed over). Call it when the HTTP server
// stops.
func (s *Server) Close() { s.streams.close() }

// serveFrame handles one request frame from the member named name,
// connected from remote.
func (s *Server) serveFrame(ctx context.Context, name, remote string, f *frame) (out *frame) {
	defer func() {
		// As the HTTP server does for a request: one handler's panic
		// fails that request, not the node.
		if v := recover(); v != nil {
			s.cfg.Logger.Error("panic serving a peer stream request", "path", f.path, "from", name, "panic", v)
			out = errorFrame(fmt.Errorf("peer: %s: internal error", f.path))
		}
	}()
	fn, ok := s.streamRoutes[f.path]
	if !ok {
		return &frame{status: statusUseHTTP}
	}
	from, err := s.member(name, remote)
	if err != nil {
		return errorFrame(err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.path, &inFrame{Reader: bytes.NewReader(f.body), b: f.body})
	if err != nil {
		return errorFrame(&RemoteError{Status: http.StatusBadRequest, Msg: "peer: stream: " + err.Error()})
	}
	req.RemoteAddr, req.ContentLength = remote, int64(len(f.body))
	req.Header.Set("Content-Type", "application/json")
	if f.flags&flagMsgpack != 0 {
		req.Header.Set("Content-Type", msgpackType)
	}
	if f.flags&flagAccept != 0 {
		req.Header.Set("Accept", msgpackType)
	}
	w := &frameWriter{header: http.Header{}}
	fn(w, req, from)
	if w.buf.Len() > streamMaxFrame {
		return &frame{status: statusUseHTTP}
	}
	out = &frame{status: uint16(w.code()), body: w.buf.Bytes()}
	if isMsgpack(w.header.Get("Content-Type")) {
		out.flags = flagMsgpack
	}
	return out
}

// member checks, for each frame, what checkPeer checks of a request: the
// sender is a current member and connects from its host.
func (s *Server) member(name, remote string) (Member, error) {
	m, ok := s.recv.Member(name)
	if !ok {
		return Member{}, errForbidden
	}
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return Member{}, errForbidden
	}
	mhost, _, _ := net.SplitHostPort(m.HTTPAddr)
	gossipHost, _, _ := net.SplitHostPort(m.GossipAddr)
	if !sameHost(host, mhost) && !sameHost(host, gossipHost) {
		return Member{}, errForbidden
	}
	return m, nil
}

// errorFrame answers err the way writeError does.
func errorFrame(err error) *frame {
	w := &frameWriter{header: http.Header{}}
	writeError(w, err)
	return &frame{status: uint16(w.code()), body: w.buf.Bytes()}
}

// frameWriter collects a handler's answer for a reply frame.
type frameWriter struct {
	header http.Header
	status int
	buf    bytes.Buffer
}

func (w *frameWriter) Header() http.Header { return w.header }

func (w *frameWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *frameWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.buf.Write(b)
}

// code returns the status written, 200 by default.
func (w *frameWriter) code() int {
	if w.status == 0 || w.status > 0xffff {
		return http.StatusOK
	}
	return w.status
}

// headerHasToken reports whether a comma-separated header holds token.
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, part := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(part), token) {
				return true
			}
		}
	}
	return false
}
