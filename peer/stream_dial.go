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
	"net"
	"net/http"
	"strings"
	"time"
)

// Headers of the stream's handshake.
const (
	streamNonceHeader = "X-Roster-Stream-Nonce"
	streamProofHeader = "X-Roster-Stream-Proof"
	// streamDuplexHeader, "1" in the upgrade request, asks for a duplex
	// connection; "1" in the answer grants it. A build that predates
	// duplex connections ignores it and answers a one-way one.
	streamDuplexHeader = "X-Roster-Stream-Duplex"
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

// errStreamRefused means the peer refused the upgrade with 401 or 403:
// while nodes join, the peer has often not yet learnt of this one. The
// link logs it at debug level for streamRefusedGrace, then warns.
var errStreamRefused = errors.New("peer: stream refused")

// streamRefusedGrace is how long a peer may refuse this node's streams
// before the link warns: a node that just joined is unknown to its peers
// until gossip reaches them, normally within a second or two.
const streamRefusedGrace = 10 * time.Second

// notSpoken reports whether status, answering the upgrade, means the peer
// does not speak the stream.
func notSpoken(status int) bool {
	switch status {
	case http.StatusSwitchingProtocols, http.StatusBadRequest, http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusNotImplemented:
		return true
	}
	return false
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

// handshake upgrades conn to a stream to m and starts its session: a
// duplex one when this node serves requests (it has a Server) and m
// agreed, else a one-way one.
func (t *Transport) handshake(ctx context.Context, conn net.Conn, m Member) (*session, error) {
	srv := t.srv.Load()
	up, err := t.upgrade(ctx, conn, m, srv != nil)
	if err != nil {
		return nil, err
	}
	c := sessionConfig{peer: m.Name, key: up.key, dialer: true, duplex: up.duplex, timeout: t.cfg.Timeout,
		pings: legacyPings(t.cfg.StreamPing), pingBytes: &t.stats.StreamPingBytes, msgpackBeats: up.msgpackBeats}
	if up.ping > 0 {
		c.pings = agreedPings(up.ping, true)
	}
	if up.duplex {
		remote := up.conn.RemoteAddr().String()
		c.handle = func(ctx context.Context, f *frame) *frame { return srv.serveFrame(ctx, m.Name, remote, f) }
	}
	return newSession(up.conn, up.br, c), nil
}

// upgraded is a connection the peer upgraded to the stream.
type upgraded struct {
	conn   net.Conn
	br     *bufio.Reader // what was read past the handshake
	key    []byte        // the session key; nil without a cluster secret
	duplex bool
	ping   time.Duration // the ping interval agreed (0: the peer predates it)
	// msgpackBeats: the peer agreed to beat hand-offs in MessagePack.
	msgpackBeats bool
}

// upgrade sends the signed upgrade request on conn (after a TLS handshake
// when the cluster uses TLS), asking for a duplex connection when duplex
// is set, and checks the answer.
func (t *Transport) upgrade(ctx context.Context, conn net.Conn, m Member, duplex bool) (upgraded, error) {
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	scheme := "http"
	if t.cfg.TLS {
		scheme = "https"
		tc := tls.Client(conn, t.streamTLS(m.HTTPAddr))
		if err := tc.HandshakeContext(ctx); err != nil {
			return upgraded{}, fmt.Errorf("peer: stream to %s: tls: %w", m.Name, err)
		}
		conn = tc
	}
	req, err := http.NewRequest(http.MethodPost, scheme+"://"+m.HTTPAddr+streamPath, http.NoBody)
	if err != nil {
		return upgraded{}, fmt.Errorf("peer: stream to %s: %w", m.Name, err)
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", streamProto)
	req.Header.Set(NodeHeader, t.cfg.Self)
	if duplex {
		req.Header.Set(streamDuplexHeader, "1")
	}
	req.Header.Set(streamPingHeader, formatPing(t.cfg.StreamPing))
	if t.msgpackBeats {
		req.Header.Set(streamMsgpackHeader, msgpackBeats)
	}
	if t.c.key != nil {
		signRequest(req, t.c.key, t.cfg.Self, nil, t.cfg.Now())
	}
	if err := req.Write(conn); err != nil {
		return upgraded{}, fmt.Errorf("peer: stream to %s: %w", m.Name, err)
	}
	br := bufio.NewReaderSize(conn, streamBufBytes)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return upgraded{}, fmt.Errorf("peer: stream to %s: %w", m.Name, err)
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusSwitchingProtocols && strings.EqualFold(resp.Header.Get("Upgrade"), streamProto):
	case notSpoken(resp.StatusCode):
		return upgraded{}, fmt.Errorf("%w: %s answered %s", errNoStream, m.Name, resp.Status)
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return upgraded{}, fmt.Errorf("%w: %s answered %s", errStreamRefused, m.Name, resp.Status)
	default:
		// Refused for now (not yet a member in the peer's view, a
		// signature from a skewed clock, an overloaded peer): the link
		// retries with its usual backoff.
		return upgraded{}, fmt.Errorf("peer: stream to %s: %s answered %s", m.Name, streamPath, resp.Status)
	}
	up := upgraded{conn: conn, br: br, duplex: duplex && resp.Header.Get(streamDuplexHeader) == "1"}
	if d, ok := parsePing(resp.Header.Get(streamPingHeader)); ok && d == t.cfg.StreamPing.Truncate(time.Millisecond) {
		up.ping = d
	}
	up.msgpackBeats = t.msgpackBeats && asksMsgpackBeats(resp.Header)
	if t.c.key != nil {
		up.key = sessionKey(t.c.key, req.Header.Get(nonceHeader), resp.Header.Get(streamNonceHeader), t.cfg.Self, m.Name, up.duplex, up.ping, up.msgpackBeats)
		if !hmac.Equal([]byte(resp.Header.Get(streamProofHeader)), []byte(streamProof(up.key))) {
			return upgraded{}, fmt.Errorf("%w: stream to %s: the peer's proof of the cluster key is invalid", errUnauthorized, m.Name)
		}
	}
	return up, nil
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

// sessionKey derives a stream's MAC key from the cluster's internal key,
// both sides' nonces and names, whether the connection is duplex, the
// ping interval agreed (0: none) and whether beat hand-offs go as
// MessagePack, so both sides must agree on them: a handshake altered on
// the way to change them fails the proof.
func sessionKey(key []byte, clientNonce, serverNonce, client, server string, duplex bool, ping time.Duration, mpBeats bool) []byte {
	m := hmac.New(sha256.New, key)
	parts := []string{"roster-stream-v1", clientNonce, serverNonce, client, server}
	if duplex {
		parts = append(parts, "duplex")
	}
	if ping > 0 {
		parts = append(parts, "ping="+formatPing(ping))
	}
	if mpBeats {
		parts = append(parts, "msgpack="+msgpackBeats)
	}
	for _, part := range parts {
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
