package peer

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/tinylib/msgp/msgp"

	"github.com/roster-io/roster/internal/secret"
)

// Internal node-to-node traffic goes over HTTP to each member's advertised
// HTTP address, under /internal/v1/, with the sender's name in
// NodeHeader. A receiver accepts it only from a current member whose
// address matches (see server.go).

// NodeHeader names the sending node on internal requests.
const NodeHeader = "X-Roster-Node"

// client makes internal requests to other nodes.
type client struct {
	self  string
	hc    *http.Client
	allow func(peer string) bool // nil: every peer may be reached
	key   []byte                 // nil: requests are not signed
	// scheme is "https" when the cluster uses TLS, else "http".
	scheme string
	now    func() time.Time
	// stats counts the invalid records in answers (nil: not counted).
	stats *Stats
}

// newClient builds the client cfg describes, counting into st.
func newClient(cfg Config, st *Stats) *client {
	tr := &http.Transport{
		DialContext:         countingDialer(&net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}, st),
		MaxIdleConnsPerHost: 32,
		IdleConnTimeout:     90 * time.Second,
	}
	c := &client{self: cfg.Self, hc: &http.Client{Transport: tr, Timeout: cfg.Timeout}, allow: cfg.Allow,
		scheme: "http", now: cfg.Now, stats: st}
	if cfg.Secret != nil {
		c.key = secret.Derive(cfg.Secret, internalKeyLabel)
	}
	if cfg.TLS {
		c.scheme = "https"
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		if cfg.PeerTLS != nil {
			tr.TLSClientConfig = cfg.PeerTLS.Clone()
		}
	}
	return c
}

// call sends in to peer at addr and decodes the answer into out. Bodies
// are MessagePack where the type can be (see wire.go), JSON otherwise.
// The request and its bodies' bytes count under kind.
func (c *client) call(ctx context.Context, kind Kind, peer, addr, method, path string, in, out any) error {
	if c.allow != nil && !c.allow(peer) {
		return fmt.Errorf("peer: %s %s: peer %s unreachable (cut)", method, path, peer)
	}
	var (
		body  io.Reader
		raw   []byte
		ctype string
	)
	if in != nil {
		b, t, err := encodeBody(in)
		if err != nil {
			return fmt.Errorf("peer: encode %s: %w", path, err)
		}
		body, raw, ctype = bytes.NewReader(b), b, t
	}
	req, err := http.NewRequestWithContext(ctx, method, c.scheme+"://"+addr+path, body)
	if err != nil {
		return fmt.Errorf("peer: %s %s: %w", method, path, err)
	}
	req.Header.Set(NodeHeader, c.self)
	if c.key != nil {
		signRequest(req, c.key, c.self, raw, c.now())
	}
	if c.stats != nil {
		c.stats.Requests[kind].Add(1)
		c.stats.BodyBytes[kind].Add(uint64(len(raw)))
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if _, ok := out.(msgp.Unmarshaler); ok {
		req.Header.Set("Accept", msgpackType)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("peer: %s %s to %s: %w", method, path, peer, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusSwitchingProtocols {
		// The body of a 101 is the connection itself, which no timeout
		// bounds: reading it would wait as long as the peer likes.
		return fmt.Errorf("peer: %s %s to %s: unexpected %s", method, path, peer, resp.Status)
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return &answerError{status: resp.StatusCode, msg: fmt.Sprintf("peer: %s %s to %s: %s: %s", method, path, peer, resp.Status, bytes.TrimSpace(msg))}
	}
	if out == nil {
		n, _ := io.Copy(io.Discard, resp.Body)
		c.countAnswer(kind, int(n))
		return nil
	}
	b, err := io.ReadAll(resp.Body)
	c.countAnswer(kind, len(b))
	if err != nil {
		return fmt.Errorf("peer: read %s from %s: %w", path, peer, err)
	}
	if err := decodeBody(b, resp.Header.Get("Content-Type"), out, c.stats); err != nil {
		return fmt.Errorf("peer: decode %s from %s: %w", path, peer, err)
	}
	return nil
}

// countAnswer counts n bytes of an answer's body under kind.
func (c *client) countAnswer(kind Kind, n int) {
	if c.stats != nil {
		c.stats.BodyBytes[kind].Add(uint64(n))
	}
}

// close drops idle connections.
func (c *client) close() { c.hc.CloseIdleConnections() }

// countingDialer dials with d and counts the connections' bytes into st.
func countingDialer(d *net.Dialer, st *Stats) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil || st == nil {
			return c, err
		}
		return &countedConn{Conn: c, st: st}, nil
	}
}

// countedConn counts a connection's bytes both ways.
type countedConn struct {
	net.Conn
	st *Stats
}

func (c *countedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.st.BytesReceived.Add(uint64(n))
	return n, err
}

func (c *countedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.st.BytesSent.Add(uint64(n))
	return n, err
}
