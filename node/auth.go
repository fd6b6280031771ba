package node

// Client authentication (ACLs), off by default. With any static token or
// user configured, every client write needs a valid token; with Read set,
// reads do too. A token is either one of the static tokens or a login
// token: users log in with Nacos' POST /nacos/v1/auth/users/login and get
// a token signed with HMAC-SHA256 under a key derived from the cluster
// secret, so every node that shares the secret (and the user) accepts it
// until it expires. Clients send a token as the accessToken parameter
// (Nacos) or as "Authorization: Bearer TOKEN". Missing or invalid tokens
// get 401, failed logins 403. Internal routes are authenticated by the
// HMAC of hmac.go instead, probes not at all.

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/roster-io/roster/internal/param"
)

// DefaultTokenTTL is how long a login token is valid: 5 h, as Nacos'
// 18000 s.
const DefaultTokenTTL = 5 * time.Hour

// ACLConfig configures client authentication.
type ACLConfig struct {
	// Tokens are static tokens that grant full access. Default none.
	Tokens []string
	// Users maps user names to passwords for the login endpoint. Default
	// none.
	Users map[string]string
	// Read makes reads need a token too (writes always do when ACLs are
	// on). Default false.
	Read bool
	// TokenTTL is the lifetime of login tokens. Default DefaultTokenTTL.
	TokenTTL time.Duration
}

// Enabled reports whether any token or user is configured.
func (a ACLConfig) Enabled() bool { return len(a.Tokens) > 0 || len(a.Users) > 0 }

// security is a node's keys and client authentication state.
type security struct {
	internalKey []byte      // nil: internal requests are not signed
	tokenKey    []byte      // signs login tokens
	nonces      *nonceCache // replay guard of internal requests
	acl         ACLConfig
	users       map[string][32]byte // user → SHA-256 of the password
	inflight    atomic.Int64        // client requests counted against MaxConcurrent
	waiting     atomic.Int64        // blocking queries waiting (never counted)
}

// validateSecurity checks the security fields of c, then its limits.
func (c *Config) validateSecurity() error {
	if n := len(c.GossipKey); n != 0 && n != 16 && n != 24 && n != 32 {
		return fmt.Errorf("node: config: gossip key is %d bytes; want 16, 24 or 32", n)
	}
	if c.ClusterSecret != nil && len(c.ClusterSecret) < 16 {
		return fmt.Errorf("node: config: cluster secret is %d bytes; want at least 16", len(c.ClusterSecret))
	}
	if c.ACL.Enabled() && c.ACL.TokenTTL <= 0 {
		return fmt.Errorf("node: config: acl token ttl %v must be positive", c.ACL.TokenTTL)
	}
	for _, t := range c.ACL.Tokens {
		if t == "" {
			return errors.New("node: config: acl token is empty")
		}
	}
	for u, p := range c.ACL.Users {
		if u == "" || p == "" {
			return errors.New("node: config: acl user name and password must not be empty")
		}
	}
	return c.validateLimits()
}

// newSecurity derives the node's keys from cfg.
func newSecurity(cfg Config) *security {
	s := &security{nonces: newNonceCache(), acl: cfg.ACL, users: map[string][32]byte{}}
	secret := cfg.ClusterSecret
	if secret == nil {
		secret = cfg.GossipKey
	}
	if secret != nil {
		s.internalKey = deriveKey(secret, internalKeyLabel)
		s.tokenKey = deriveKey(secret, tokenKeyLabel)
	} else {
		s.tokenKey = make([]byte, 32)
		_, _ = rand.Read(s.tokenKey)
	}
	for u, p := range cfg.ACL.Users {
		s.users[u] = sha256.Sum256([]byte(p))
	}
	return s
}

// warn logs what is left open.
func (s *security) warn(n *Node) {
	if s.internalKey == nil && n.cfg.GossipAddr != "" {
		n.log.Warn("internal node-to-node traffic is not authenticated; set --gossip-key or --cluster-secret on every node")
	}
	if s.acl.Enabled() && n.cfg.TLS == nil {
		n.log.Warn("ACLs are on without TLS: tokens and passwords cross the network in the clear; set --tls-cert and --tls-key")
	}
	if len(s.users) > 0 && s.internalKey == nil {
		n.log.Warn("login tokens are signed with a random key of this node and accepted by no other node; set --cluster-secret or --gossip-key")
	}
}

// tokenClaims is the signed part of a login token.
type tokenClaims struct {
	User    string `json:"u"`
	Expires int64  `json:"exp"` // Unix seconds
}

var b64 = base64.RawURLEncoding

// issueToken signs a login token for user.
func (s *security) issueToken(user string, now time.Time) string {
	payload, _ := json.Marshal(tokenClaims{User: user, Expires: now.Add(s.acl.TokenTTL).Unix()})
	m := hmac.New(sha256.New, s.tokenKey)
	m.Write(payload)
	return "r1." + b64.EncodeToString(payload) + "." + b64.EncodeToString(m.Sum(nil))
}

// checkToken reports whether tok is a static token or a valid, unexpired
// login token of a configured user.
func (s *security) checkToken(tok string, now time.Time) error {
	ok := 0
	for _, t := range s.acl.Tokens {
		ok |= subtle.ConstantTimeCompare([]byte(t), []byte(tok))
	}
	if ok == 1 {
		return nil
	}
	rest, found := strings.CutPrefix(tok, "r1.")
	p64, s64, found2 := strings.Cut(rest, ".")
	if !found || !found2 {
		return fmt.Errorf("%w: invalid token", errUnauthorized)
	}
	payload, err1 := b64.DecodeString(p64)
	sig, err2 := b64.DecodeString(s64)
	m := hmac.New(sha256.New, s.tokenKey)
	m.Write(payload)
	if err1 != nil || err2 != nil || !hmac.Equal(sig, m.Sum(nil)) {
		return fmt.Errorf("%w: invalid token (not signed by this cluster)", errUnauthorized)
	}
	var c tokenClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return fmt.Errorf("%w: invalid token", errUnauthorized)
	}
	if now.Unix() >= c.Expires {
		return fmt.Errorf("%w: token expired; log in again", errUnauthorized)
	}
	if _, ok := s.users[c.User]; !ok {
		return fmt.Errorf("%w: token of unknown user %q", errUnauthorized, c.User)
	}
	return nil
}

// authorize checks the client token of r, which is paramToken (a Nacos
// accessToken already parsed from the form) or found in r itself. It
// returns nil when ACLs are off or the request may pass.
func (n *Node) authorize(r *http.Request, paramToken string) error {
	s := n.sec
	if !s.acl.Enabled() {
		return nil
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		if !s.acl.Read {
			return nil
		}
	}
	return n.authorizeAlways(r, paramToken)
}

// authorizeAlways is authorize for reads and writes alike (ACLs on).
func (n *Node) authorizeAlways(r *http.Request, paramToken string) error {
	s := n.sec
	tok := paramToken
	if h := r.Header.Get("Authorization"); tok == "" && h != "" {
		scheme, v, _ := strings.Cut(h, " ")
		if strings.EqualFold(scheme, "Bearer") {
			tok = strings.TrimSpace(v)
		}
	}
	if tok == "" {
		tok = r.URL.Query().Get("accessToken")
	}
	if tok == "" {
		return fmt.Errorf("%w: this node requires a token: send Authorization: Bearer TOKEN or the accessToken parameter", errUnauthorized)
	}
	return s.checkToken(tok, n.cfg.Now())
}

// requireToken wraps the non-Nacos client routes with the ACL check; the
// Nacos routes check inside nacosHandler, once their form is parsed.
// Probes, internal routes and /debug/faults (loopback only) pass;
// /debug/pprof needs a token even to read.
func (n *Node) requireToken(h http.Handler) http.Handler {
	if !n.sec.acl.Enabled() {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		exempt := strings.HasPrefix(p, "/nacos/") || strings.HasPrefix(p, "/internal/") ||
			strings.HasPrefix(p, "/debug/faults") || p == "/healthz" || p == "/readyz"
		check := n.authorize
		if strings.HasPrefix(p, "/debug/pprof") {
			// Profiles show the process's internals: a token even to read.
			check = n.authorizeAlways
		}
		if !exempt {
			if err := check(r, ""); err != nil {
				w.Header().Set("WWW-Authenticate", `Bearer realm="roster"`)
				jsonError(w, err)
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// loginReply is the answer of the Nacos login endpoint.
type loginReply struct {
	AccessToken string `json:"accessToken"`
	TokenTTL    int64  `json:"tokenTtl"` // seconds
	GlobalAdmin bool   `json:"globalAdmin"`
}

// nacosLogin handles POST /nacos/v1/auth/users/login (and Nacos' older
// /nacos/v1/auth/login): form or query username and password.
func (n *Node) nacosLogin(w http.ResponseWriter, r *http.Request) {
	p, err := param.Read(r, n.cfg.MaxBodyBytes)
	if err != nil {
		nacosError(w, err)
		return
	}
	user, pass := p.Get("username"), p.Get("password")
	if user == "" {
		nacosError(w, &param.FieldError{Field: "username", Reason: "missing"})
		return
	}
	want, ok := n.sec.users[user]
	got := sha256.Sum256([]byte(pass))
	if !ok || subtle.ConstantTimeCompare(want[:], got[:]) != 1 {
		nacosError(w, fmt.Errorf("%w: unknown user or wrong password", errLoginFailed))
		return
	}
	writeJSON(w, http.StatusOK, loginReply{AccessToken: n.sec.issueToken(user, n.cfg.Now()),
		TokenTTL: int64(n.sec.acl.TokenTTL / time.Second)})
}
