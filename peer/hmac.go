package peer

// Authentication of internal (node-to-node) requests. When the cluster has
// a secret (ClusterSecret, or else GossipKey), every request under
// /internal/v1/ carries an HMAC-SHA256 signature made with a key derived
// from that secret by HKDF (label "roster internal-auth v1"). The
// signature covers the method, the request URI, the sender's name, a
// timestamp, a random nonce and the SHA-256 of the body:
//
//	roster-internal-v1 \n METHOD \n URI \n NODE \n UNIX-MILLIS \n NONCE \n BODY-SHA256
//
// The receiver checks the signature before it reads the body, so a
// forged request costs it no more than its headers; then it refuses a
// timestamp more than maxClockSkew away from its own clock, reads the body
// and checks its hash, and refuses a nonce it has seen within the window
// (a replay). Anything wrong is 401 and nothing is applied. Nodes' clocks must
// agree within maxClockSkew.

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/roster-io/roster/internal/secret"
)

// Headers of a signed internal request.
const (
	timeHeader     = "X-Roster-Time"
	nonceHeader    = "X-Roster-Nonce"
	bodyHashHeader = "X-Roster-Body-Sha256"
	sigHeader      = "X-Roster-Signature"
)

// maxClockSkew is how far a signed request's timestamp may be from the
// receiver's clock; nonces are remembered this long.
const maxClockSkew = 30 * time.Second

// internalKeyLabel is the HKDF label of the signing key derived from the
// cluster secret.
const internalKeyLabel = "roster internal-auth v1"

// signature computes the HMAC of one internal request.
func signature(key []byte, method, uri, node, ts, nonce, bodyHash string) string {
	m := hmac.New(sha256.New, key)
	for _, part := range []string{"roster-internal-v1", method, uri, node, ts, nonce, bodyHash} {
		m.Write([]byte(part))
		m.Write([]byte{'\n'})
	}
	return hex.EncodeToString(m.Sum(nil))
}

// signRequest adds the signature headers to req, whose body is body.
func signRequest(req *http.Request, key []byte, node string, body []byte, now time.Time) {
	var nb [16]byte
	_, _ = rand.Read(nb[:])
	nonce := hex.EncodeToString(nb[:])
	sum := sha256.Sum256(body)
	bodyHash := hex.EncodeToString(sum[:])
	ts := strconv.FormatInt(now.UnixMilli(), 10)
	req.Header.Set(timeHeader, ts)
	req.Header.Set(nonceHeader, nonce)
	req.Header.Set(bodyHashHeader, bodyHash)
	req.Header.Set(sigHeader, signature(key, req.Method, req.URL.RequestURI(), node, ts, nonce, bodyHash))
}

// verifyInternal checks the signature of an internal request and, when it
// holds, replaces r.Body with the verified body. Every failure wraps
// errUnauthorized.
func (s *Server) verifyInternal(r *http.Request) error {
	key := s.key
	node, ts, nonce := r.Header.Get(NodeHeader), r.Header.Get(timeHeader), r.Header.Get(nonceHeader)
	bodyHash, sig := r.Header.Get(bodyHashHeader), r.Header.Get(sigHeader)
	if sig == "" || ts == "" || nonce == "" || bodyHash == "" {
		return fmt.Errorf("%w: internal request is not signed (this cluster requires the same --gossip-key or --cluster-secret on every node)", errUnauthorized)
	}
	want := signature(key, r.Method, r.URL.RequestURI(), node, ts, nonce, bodyHash)
	if !hmac.Equal([]byte(sig), []byte(want)) {
		return fmt.Errorf("%w: internal request signature is invalid (a different cluster secret?)", errUnauthorized)
	}
	ms, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %s is not a number", errUnauthorized, timeHeader)
	}
	now := s.cfg.Now()
	if d := now.Sub(time.UnixMilli(ms)); d > maxClockSkew || d < -maxClockSkew {
		return fmt.Errorf("%w: internal request timestamp is %v away from this node's clock (limit %v)", errUnauthorized, d.Round(time.Millisecond), maxClockSkew)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, internalMaxBody+1))
	if err != nil {
		return fmt.Errorf("%w: read body: %v", errBadJSON, err)
	}
	sum := sha256.Sum256(body)
	if !hmac.Equal([]byte(hex.EncodeToString(sum[:])), []byte(bodyHash)) {
		return fmt.Errorf("%w: internal request body does not match its signed hash", errUnauthorized)
	}
	// Only a complete, genuine request uses up its nonce.
	if s.nonces.seen(nonce, now) {
		return fmt.Errorf("%w: internal request replayed (nonce already used)", errUnauthorized)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return nil
}

// nonceCache remembers the nonces of signed requests for maxClockSkew, so
// a captured request cannot be replayed while its timestamp is fresh.
// Only requests with a valid signature reach it, so its size is bounded
// by the cluster's own internal request rate. Safe for concurrent use.
type nonceCache struct {
	// mu guards seenAt and pruned.
	mu     sync.Mutex
	seenAt map[string]time.Time
	pruned time.Time
}

func newNonceCache() *nonceCache { return &nonceCache{seenAt: map[string]time.Time{}} }

// seen records nonce at now and reports whether it was already there.
func (c *nonceCache) seen(nonce string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.Sub(c.pruned) > maxClockSkew/4 {
		for k, t := range c.seenAt {
			if now.Sub(t) > 2*maxClockSkew {
				delete(c.seenAt, k)
			}
		}
		c.pruned = now
	}
	if _, ok := c.seenAt[nonce]; ok {
		return true
	}
	c.seenAt[nonce] = now
	return false
}

// SignRequest signs req, whose body is body, as node with the key derived
// from the cluster secret, the way a member's transport does. Tools and
// tests use it to speak to the internal API.
func SignRequest(req *http.Request, clusterSecret []byte, node string, body []byte, now time.Time) {
	signRequest(req, secret.Derive(clusterSecret, internalKeyLabel), node, body, now)
}
