package peer

import (
	"bufio"
	"context"
	"crypto/hmac"
	crand "crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tinylib/msgp/msgp"
)

// Headers of the stream's handshake.
const (
	streamNonceHeader = "X-Roster-Stream-Nonce"
	streamProofHeader = "X-Roster-Stream-Proof"
)

// Reconnection: the first retry after streamBackoffMin, doubling up to
// streamBackoffMax, each with jitter; a peer that answers the upgrade in
// a way that says it does not speak the stream (errNoStream) is asked
// again after streamRetryOld. Meanwhile its traffic goes over HTTP.
const (
	streamBackoffMin = 100 * time.Millisecond
	streamBackoffMax = 5 * time.Second
	streamRetryOld   = time.Minute
)

// errNoStream means the peer answered the upgrade in a way that says it
// does not speak the stream: an older build (404, 405), or something
// between the nodes that drops the upgrade (400, 501, a 101 to another
// protocol). A refusal that may pass (401, 403: the peer does not know
// this node yet; 429, 5xx) is retried with the usual backoff instead.
var errNoStream = errors.New("peer: peer does not accept the stream")

// notSpoken reports whether status, answering the upgrade, means the peer
// does not speak the stream.
func notSpoken(status int) bool {
	switch status {
	case http.StatusSwitchingProtocols, http.StatusBadRequest, http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusNotImplemented:
		return true
	}
	return false
}

// link keeps one outbound stream to one member up: it dials, and when
// the connection ends dials again after a backoff. Calls use the current
// session, or HTTP while there is none.
type link struct {
	t      *Transport
	m      Member
	cur    atomic.Pointer[session]
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// newLink starts the link to m.
func newLink(t *Transport, m Member) *link {
	ctx, cancel := context.WithCancel(t.ctx)
	l := &link{t: t, m: m, ctx: ctx, cancel: cancel}
	l.wg.Go(l.run)
	return l
}

// stop ends the link and its session.
func (l *link) stop() {
	l.cancel()
	l.wg.Wait()
}

// session returns the current session, or nil.
func (l *link) session() *session { return l.cur.Load() }

func (l *link) run() {
	log := l.t.cfg.Logger
	backoff := streamBackoffMin
	for l.ctx.Err() == nil {
		wait := backoff
		if l.t.allowed(l.m.Name) {
			s, err := l.t.dialStream(l.ctx, l.m)
			switch {
			case err == nil:
				l.t.stats.StreamConnects.Add(1)
				began := time.Now()
				l.cur.Store(s)
				select {
				case <-s.done():
				case <-l.ctx.Done():
				}
				l.cur.Store(nil)
				s.close()
				if l.ctx.Err() == nil {
					log.Info("peer stream closed; reconnecting", "peer", l.m.Name, "err", s.cause())
				}
				if time.Since(began) > streamBackoffMax {
					backoff = streamBackoffMin
				}
				wait = backoff
			case errors.Is(err, errNoStream):
				log.Info("peer does not accept the stream; using HTTP", "peer", l.m.Name, "err", err)
				wait = streamRetryOld
			default:
				l.t.warns.Warn(log, l.t.cfg.Now(), "peer stream: dial failed; using HTTP meanwhile", "peer", l.m.Name, "err", err)
			}
		}
		backoff = min(2*backoff, streamBackoffMax)
		timer := time.NewTimer(wait/2 + rand.N(wait/2+1))
		select {
		case <-timer.C:
		case <-l.ctx.Done():
			timer.Stop()
		}
	}
}

// dialStream connects to m's HTTP port and upgrades the connection.
func (t *Transport) dialStream(ctx context.Context, m Member) (*session, error) {
	ctx, cancel := context.WithTimeout(ctx, t.cfg.Timeout)
	defer cancel()
	conn, err := countingDialer(&net.Dialer{KeepAlive: 30 * time.Second}, &t.stats)(ctx, "tcp", m.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("peer: stream to %s: %w", m.Name, err)
	}
	s, err := t.handshake(ctx, conn, m)
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	return s, nil
}

// handshake upgrades conn to a stream to m and starts its session.
func (t *Transport) handshake(ctx context.Context, conn net.Conn, m Member) (*session, error) {
	conn, br, key, err := t.upgrade(ctx, conn, m)
	if err != nil {
		return nil, err
	}
	return newSession(conn, br, m.Name, key, true, t.cfg.Timeout, nil), nil
}

// upgrade sends the signed upgrade request on conn (after a TLS handshake
// when the cluster uses TLS) and checks the answer. It returns the
// connection to use, its reader and the session key (nil without a
// cluster secret).
func (t *Transport) upgrade(ctx context.Context, conn net.Conn, m Member) (net.Conn, *bufio.Reader, []byte, error) {
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	scheme := "http"
	if t.cfg.TLS {
		scheme = "https"
		tc := tls.Client(conn, t.streamTLS(m.HTTPAddr))
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, nil, nil, fmt.Errorf("peer: stream to %s: tls: %w", m.Name, err)
		}
		conn = tc
	}
	req, err := http.NewRequest(http.MethodPost, scheme+"://"+m.HTTPAddr+streamPath, http.NoBody)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("peer: stream to %s: %w", m.Name, err)
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", streamProto)
	req.Header.Set(NodeHeader, t.cfg.Self)
	if t.c.key != nil {
		signRequest(req, t.c.key, t.cfg.Self, nil, t.cfg.Now())
	}
	if err := req.Write(conn); err != nil {
		return nil, nil, nil, fmt.Errorf("peer: stream to %s: %w", m.Name, err)
	}
	br := bufio.NewReaderSize(conn, streamBufBytes)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("peer: stream to %s: %w", m.Name, err)
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusSwitchingProtocols && strings.EqualFold(resp.Header.Get("Upgrade"), streamProto):
	case notSpoken(resp.StatusCode):
		return nil, nil, nil, fmt.Errorf("%w: %s answered %s", errNoStream, m.Name, resp.Status)
	default:
		// Refused for now (not yet a member in the peer's view, a
		// signature from a skewed clock, an overloaded peer): the link
		// retries with its usual backoff.
		return nil, nil, nil, fmt.Errorf("peer: stream to %s: %s answered %s", m.Name, streamPath, resp.Status)
	}
	var key []byte
	if t.c.key != nil {
		key = sessionKey(t.c.key, req.Header.Get(nonceHeader), resp.Header.Get(streamNonceHeader), t.cfg.Self, m.Name)
		if !hmac.Equal([]byte(resp.Header.Get(streamProofHeader)), []byte(streamProof(key))) {
			return nil, nil, nil, fmt.Errorf("%w: stream to %s: the peer's proof of the cluster key is invalid", errUnauthorized, m.Name)
		}
	}
	return conn, br, key, nil
}

// streamTLS is the TLS configuration of a stream to addr: the peer TLS
// configuration, offering only HTTP/1.1 (an upgrade needs it).
func (t *Transport) streamTLS(addr string) *tls.Config {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if t.cfg.PeerTLS != nil {
		c = t.cfg.PeerTLS.Clone()
	}
	c.NextProtos = []string{"http/1.1"}
	if c.ServerName == "" {
		if host, _, err := net.SplitHostPort(addr); err == nil {
			c.ServerName = host
		}
	}
	return c
}

// sessionKey derives a stream's MAC key from the cluster's internal key
// and both sides' nonces and names.
func sessionKey(key []byte, clientNonce, serverNonce, client, server string) []byte {
	m := hmac.New(sha256.New, key)
	for _, part := range []string{"roster-stream-v1", clientNonce, serverNonce, client, server} {
		m.Write([]byte(part))
		m.Write([]byte{'\n'})
	}
	return m.Sum(nil)
}

// streamProof is what the accepting side sends to show it holds key.
func streamProof(key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("roster-stream-v1 accept"))
	return hex.EncodeToString(m.Sum(nil))
}

// newNonce returns 16 random bytes in hex.
func newNonce() string {
	var b [16]byte
	_, _ = crand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// streamCall sends one internal request on m's stream, when it has one
// and the request fits a frame. done is false when the request must go
// over HTTP instead (nothing was applied, or repeating it is harmless).
func (t *Transport) streamCall(ctx context.Context, m Member, path string, in, out any) (done bool, err error) {
	l := t.linkOf(m)
	if l == nil || len(path) > 255 {
		return false, nil
	}
	s := l.session()
	if s == nil {
		return false, nil
	}
	var body []byte
	var flags byte
	if in != nil {
		b, ctype, err := encodeBody(in)
		if err != nil {
			return true, fmt.Errorf("peer: encode %s: %w", path, err)
		}
		if ctype == msgpackType {
			flags |= flagMsgpack
		}
		body = b
	}
	if len(body) > streamMaxFrame {
		return false, nil
	}
	if _, ok := out.(msgp.Unmarshaler); ok {
		flags |= flagAccept
	}
	callCtx, cancel := context.WithTimeout(ctx, t.cfg.Timeout)
	defer cancel()
	r, err := s.roundTrip(callCtx, path, flags, body)
	switch {
	case errors.Is(err, errStreamDown):
		return false, nil
	case err != nil && ctx.Err() == nil:
		// No answer within the timeout: the connection is dropped, as an
		// HTTP client drops a request's, so what it still holds is not
		// delivered long after (a partition that heals), and the next
		// requests go over a new connection or HTTP.
		s.fail(fmt.Errorf("peer: stream to %s: no answer to %s within %v", m.Name, path, t.cfg.Timeout))
		return true, fmt.Errorf("peer: POST %s to %s (stream): %w", path, m.Name, err)
	case err != nil:
		return true, fmt.Errorf("peer: POST %s to %s (stream): %w", path, m.Name, err)
	case r.status == statusUseHTTP:
		return false, nil
	case r.status != http.StatusOK:
		return true, &answerError{status: int(r.status), msg: fmt.Sprintf("peer: POST %s to %s: %d %s: %s", path, m.Name, r.status, http.StatusText(int(r.status)), strings.TrimSpace(string(r.body[:min(len(r.body), 512)])))}
	case out == nil:
		return true, nil
	}
	ctype := "application/json"
	if r.flags&flagMsgpack != 0 {
		ctype = msgpackType
	}
	if err := decodeBody(r.body, ctype, out, &t.stats); err != nil {
		return true, fmt.Errorf("peer: decode %s from %s: %w", path, m.Name, err)
	}
	return true, nil
}
