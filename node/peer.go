package node

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/tinylib/msgp/msgp"
)

// Internal node-to-node traffic goes over HTTP to each member's advertised
// HTTP address, under /internal/v1/, with the sender's name in
// NodeHeader. A receiver accepts it only from a current member whose
// address matches (see internal_api.go).

// NodeHeader names the sending node on internal requests.
const NodeHeader = "X-Roster-Node"

// peerClient makes internal requests to other nodes.
type peerClient struct {
	self string
	hc   *http.Client
	// allow, if set, says whether this node may reach a peer (tests use
	// it to cut the network between nodes).
	allow func(peer string) bool
	// key, if set, signs every request (hmac.go).
	key []byte
	// scheme is "https" when the cluster uses TLS, else "http".
	scheme string
	now    func() time.Time
}

func newPeerClient(self string, timeout time.Duration, allow func(string) bool) *peerClient {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 32,
		IdleConnTimeout:     90 * time.Second,
	}
	return &peerClient{self: self, hc: &http.Client{Transport: tr, Timeout: timeout}, allow: allow,
		scheme: "http", now: time.Now}
}

// call sends in to peer at addr and decodes the answer into out. Bodies
// are MessagePack where the type can be (see wire.go), JSON otherwise.
func (c *peerClient) call(ctx context.Context, peer, addr, method, path string, in, out any) error {
	if c.allow != nil && !c.allow(peer) {
		return fmt.Errorf("node: %s %s: peer %s unreachable (cut)", method, path, peer)
	}
	var (
		body  io.Reader
		raw   []byte
		ctype string
	)
	if in != nil {
		b, t, err := encodeBody(in)
		if err != nil {
			return fmt.Errorf("node: encode %s: %w", path, err)
		}
		body, raw, ctype = bytes.NewReader(b), b, t
	}
	req, err := http.NewRequestWithContext(ctx, method, c.scheme+"://"+addr+path, body)
	if err != nil {
		return fmt.Errorf("node: %s %s: %w", method, path, err)
	}
	req.Header.Set(NodeHeader, c.self)
	if c.key != nil {
		signRequest(req, c.key, c.self, raw, c.now())
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if _, ok := out.(msgp.Unmarshaler); ok {
		req.Header.Set("Accept", msgpackType)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("node: %s %s to %s: %w", method, path, peer, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("node: %s %s to %s: %s: %s", method, path, peer, resp.Status, bytes.TrimSpace(msg))
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("node: read %s from %s: %w", path, peer, err)
	}
	if err := decodeBody(b, resp.Header.Get("Content-Type"), out); err != nil {
		return fmt.Errorf("node: decode %s from %s: %w", path, peer, err)
	}
	return nil
}

// close drops idle connections.
func (c *peerClient) close() { c.hc.CloseIdleConnections() }
