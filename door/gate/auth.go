package gate

// Client authentication (ACLs), off by default. With any static token or
// user configured, every client write needs a valid token; with Read set,
// reads do too. A token is either one of the static tokens or a login
// token: users log in with Nacos' POST /nacos/v1/auth/users/login and get
// a token signed with HMAC-SHA256 under a key derived from the cluster
// secret, so every node that shares the secret (and the user) accepts it
// until it expires. Clients send a token as the accessToken parameter
// (Nacos) or as "Authorization: Bearer TOKEN". Missing or invalid tokens
// get 401, failed logins 403. Internal routes are authenticated by the
// transport's HMAC (package peer) instead, probes not at all.

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
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/roster-io/roster/internal/param"
	"github.com/roster-io/roster/internal/secret"
)

// DefaultTokenTTL is how long a login token is valid: 5 h, as Nacos'
// 18000 s.
const DefaultTokenTTL = 5 * time.Hour

// ACLConfig configures client authentication.
type ACLConfig struct {
	// Tokens are static tokens that grant full access, unless TokenRoles
	// scopes them. Default none.
	Tokens []string
	// TokenRoles scopes static tokens: a token of Tokens listed here acts
	// with the permissions of its role instead of full access (the role
	// GlobalAdminRole keeps full access). Default none.
	TokenRoles map[string]string
	// Users maps user names to passwords for the login endpoint. Default
	// none.
	Users map[string]string
	// Read makes reads need a token too (writes always do when ACLs are
	// on). Default false.
	Read bool
	// TokenTTL is the lifetime of login tokens. Default DefaultTokenTTL.
	TokenTTL time.Duration
	// BcryptCost is the bcrypt cost of the passwords of created users.
	// Default bcrypt.DefaultCost (10).
	BcryptCost int
}

// Enabled reports whether any token or user is configured.
func (a ACLConfig) Enabled() bool { return len(a.Tokens) > 0 || len(a.Users) > 0 }

func sha256Sum(s string) [32]byte { return sha256.Sum256([]byte(s)) }

func constantEqual(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// tokenKeyLabel is the HKDF label of the key that signs login tokens.
const tokenKeyLabel = "roster acl-token v1"

// Validate checks the ACL settings.
func (a ACLConfig) Validate() error {
	if a.Enabled() && a.TokenTTL <= 0 {
		return fmt.Errorf("gate: config: acl token ttl %v must be positive", a.TokenTTL)
	}
	for _, t := range a.Tokens {
		if t == "" {
			return errors.New("gate: config: acl token is empty")
		}
	}
	for t, role := range a.TokenRoles {
		if !slices.Contains(a.Tokens, t) {
			return errors.New("gate: config: a scoped acl token is not among the tokens")
		}
		if err := checkACLName("role", role); err != nil {
			return fmt.Errorf("gate: config: acl token role %q: %w", role, err)
		}
	}
	if a.BcryptCost != 0 && (a.BcryptCost < bcrypt.MinCost || a.BcryptCost > bcrypt.MaxCost) {
		return fmt.Errorf("gate: config: bcrypt cost %d is not in %d-%d", a.BcryptCost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	for u, p := range a.Users {
		if u == "" || p == "" {
			return errors.New("gate: config: acl user name and password must not be empty")
		}
	}
	return nil
}

// auth checks client tokens and issues login tokens.
type auth struct {
	acl      ACLConfig
	tokenKey []byte              // signs login tokens
	users    map[string][32]byte // user → SHA-256 of the password
	now      func() time.Time
}

// newAuth derives the token key from secret (random when nil, so only
// this node accepts its tokens).
func newAuth(acl ACLConfig, sec []byte, now func() time.Time) *auth {
	a := &auth{acl: acl, users: map[string][32]byte{}, now: now}
	if sec != nil {
		a.tokenKey = secret.Derive(sec, tokenKeyLabel)
	} else {
		a.tokenKey = make([]byte, 32)
		_, _ = rand.Read(a.tokenKey)
	}
	for u, p := range acl.Users {
		a.users[u] = sha256.Sum256([]byte(p))
	}
	return a
}

// tokenClaims is the signed part of a login token.
type tokenClaims struct {
	User    string `json:"u"`
	Expires int64  `json:"exp"` // Unix seconds
}

var b64 = base64.RawURLEncoding

// issueToken signs a login token for user.
func (s *auth) issueToken(user string, now time.Time) string {
	payload, _ := json.Marshal(tokenClaims{User: user, Expires: now.Add(s.acl.TokenTTL).Unix()})
	m := hmac.New(sha256.New, s.tokenKey)
	m.Write(payload)
	return "r1." + b64.EncodeToString(payload) + "." + b64.EncodeToString(m.Sum(nil))
}

// checkToken reports whether tok is a static token or a valid, unexpired
// login token of a user of --acl-user (created users are known to the
// Gate's principalOf only).
func (s *auth) checkToken(tok string, now time.Time) error {
	for _, t := range s.acl.Tokens {
		if subtle.ConstantTimeCompare([]byte(t), []byte(tok)) == 1 {
			return nil
		}
	}
	c, err := s.verifyToken(tok, now)
	if err != nil {
		return err
	}
	if _, ok := s.users[c.User]; !ok {
		return fmt.Errorf("%w: token of unknown user %q", ErrUnauthorized, c.User)
	}
	return nil
}

// verifyToken checks the signature and expiry of login token tok and
// returns its claims; whether its user exists is the caller's question.
func (s *auth) verifyToken(tok string, now time.Time) (tokenClaims, error) {
	var c tokenClaims
	rest, found := strings.CutPrefix(tok, "r1.")
	p64, s64, found2 := strings.Cut(rest, ".")
	if !found || !found2 {
		return c, fmt.Errorf("%w: invalid token", ErrUnauthorized)
	}
	payload, err1 := b64.DecodeString(p64)
	sig, err2 := b64.DecodeString(s64)
	m := hmac.New(sha256.New, s.tokenKey)
	m.Write(payload)
	if err1 != nil || err2 != nil || !hmac.Equal(sig, m.Sum(nil)) {
		return c, fmt.Errorf("%w: invalid token (not signed by this cluster)", ErrUnauthorized)
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return c, fmt.Errorf("%w: invalid token", ErrUnauthorized)
	}
	if now.Unix() >= c.Expires {
		return c, fmt.Errorf("%w: token expired; log in again", ErrUnauthorized)
	}
	return c, nil
}

// Authorize checks the client token of r, which is paramToken (a Nacos
// accessToken a door parsed from its form) or found in r itself. It
// returns nil when ACLs are off or the request may pass: reads pass
// unless ACLConfig.Read. It authenticates only: the door then checks the
// resource with Check.
func (g *Gate) Authorize(r *http.Request, paramToken string) error {
	if !g.auth.acl.Enabled() {
		return nil
	}
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && !g.auth.acl.Read {
		return nil
	}
	return g.authenticate(r, paramToken)
}

// authenticate checks the token of reads and writes alike (ACLs on).
func (g *Gate) authenticate(r *http.Request, paramToken string) error {
	tok := tokenOf(r, paramToken)
	if tok == "" {
		return fmt.Errorf("%w: this node requires a token: send Authorization: Bearer TOKEN or the accessToken parameter", ErrUnauthorized)
	}
	_, err := g.principalOf(tok)
	return err
}

// Login checks a user's password, sent from host source, and returns a
// login token and its lifetime. Failed logins brake further attempts for
// the user and from the source (brake.go).
func (g *Gate) Login(source, user, pass string) (string, time.Duration, error) {
	if user == "" {
		return "", 0, &param.FieldError{Field: "username", Reason: "missing"}
	}
	now := g.cfg.Now()
	if err := g.brake.check(user, source, now); err != nil {
		return "", 0, err
	}
	if !g.passwordOK(user, pass, now) {
		g.brake.fail(user, source, now)
		return "", 0, fmt.Errorf("%w: unknown user or wrong password", ErrLoginFailed)
	}
	g.brake.succeed(user, source)
	return g.auth.issueToken(user, now), g.auth.acl.TokenTTL, nil
}
