package gate

import (
	"strings"
	"testing"
	"time"
)

// TestACL_tokensAcrossNodes checks that a login token is accepted by any
// node sharing the cluster secret and the user, until it expires, and by
// no other.
func TestACL_tokensAcrossNodes(t *testing.T) {
	acl := ACLConfig{Tokens: []string{"static-token"}, Users: map[string]string{"alice": "pw"}, TokenTTL: DefaultTokenTTL}
	secret := []byte(strings.Repeat("s", 32))
	clock := func() time.Time { return time.Unix(1_700_000_000, 0) }
	a, b := newAuth(acl, secret, clock), newAuth(acl, secret, clock)
	now := time.Unix(1_700_000_000, 0)
	tok := a.issueToken("alice", now)
	if err := b.checkToken(tok, now.Add(time.Minute)); err != nil {
		t.Fatalf("token issued by a node with the same secret: %v", err)
	}
	if err := b.checkToken(tok, now.Add(DefaultTokenTTL)); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("token after its ttl: got %v, want expired", err)
	}
	if err := newAuth(acl, []byte(strings.Repeat("o", 32)), clock).checkToken(tok, now); err == nil {
		t.Fatal("a node with another secret accepted the token")
	}
	noUser := acl
	noUser.Users = map[string]string{"bob": "x"}
	if err := newAuth(noUser, secret, clock).checkToken(tok, now); err == nil {
		t.Fatal("a node without the user accepted its token")
	}
	// Without any secret each node signs with its own random key.
	if err := newAuth(acl, nil, clock).checkToken(newAuth(acl, nil, clock).issueToken("alice", now), now); err == nil {
		t.Fatal("without a cluster secret another node accepted a token")
	}
	// A tampered payload fails the signature.
	parts := strings.Split(tok, ".")
	forged := parts[0] + "." + b64.EncodeToString([]byte(`{"u":"alice","exp":9999999999}`)) + "." + parts[2]
	if err := a.checkToken(forged, now); err == nil {
		t.Fatal("a token with a forged expiry was accepted")
	}
}
