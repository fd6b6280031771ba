package agent_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/door/gate"
)

func withACL(read bool) func(*agent.Config) {
	return func(c *agent.Config) {
		c.GossipKey = testSecret
		c.ACL = gate.ACLConfig{Tokens: []string{"static-token"}, Users: map[string]string{"alice": "pw"}, Read: read, TokenTTL: gate.DefaultTokenTTL}
	}
}

// doAuth sends a request with an optional bearer token.
func doAuth(t *testing.T, method, u, contentType, body, token string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}

func login(t *testing.T, base, user, pass string) (int, loginReply, string) {
	t.Helper()
	code, body := do(t, http.MethodPost, base+"/nacos/v1/auth/users/login", form, url.Values{"username": {user}, "password": {pass}}.Encode())
	var lr loginReply
	if code == 200 {
		mustJSON(t, body, &lr)
	}
	return code, lr, body
}

func TestACL_writesNeedToken(t *testing.T) {
	n, base := startNode(t, withACL(false))
	const reg = `{"service":"s","ip":"10.0.0.1","port":80}`
	before := n.Node().Store().Index()
	for _, tok := range []string{"", "wrong", "r1.e30.AAAA", "static-token-but-longer"} {
		code, body, hdr := doAuth(t, http.MethodPost, base+"/v1/instance", "application/json", reg, tok)
		if code != http.StatusUnauthorized || !strings.Contains(body, "token") || hdr.Get("WWW-Authenticate") == "" {
			t.Errorf("native register with token %q: got %d %s, want 401 with WWW-Authenticate", tok, code, body)
		}
	}
	code, body := nacos(t, base, http.MethodPost, "instance", vals("serviceName", "s", "ip", "10.0.0.1", "port", "80"))
	if code != http.StatusUnauthorized {
		t.Errorf("nacos register without token: got %d %s, want 401", code, body)
	}
	code, body = nacos(t, base, http.MethodPut, "instance/beat", vals("serviceName", "s", "ip", "10.0.0.1", "port", "80"))
	if code != http.StatusUnauthorized {
		t.Errorf("nacos beat without token: got %d %s, want 401", code, body)
	}
	if n.Node().Store().Index() != before {
		t.Fatal("an unauthorized write changed the registry")
	}
	// Reads pass without a token unless ACLRead; probes always do.
	if code, body := do(t, http.MethodGet, base+"/v1/instances?service=s", "", ""); code != 200 {
		t.Errorf("read without token: got %d %s, want 200", code, body)
	}
	if code, _ := do(t, http.MethodGet, base+"/readyz", "", ""); code != 200 {
		t.Errorf("readyz without token: got %d, want 200", code)
	}

	// A static token and a login token both allow writes.
	if code, body, _ := doAuth(t, http.MethodPost, base+"/v1/instance", "application/json", reg, "static-token"); code != 200 {
		t.Fatalf("native register with the static token: %d %s", code, body)
	}
	code, lr, body := login(t, base, "alice", "pw")
	if code != 200 || lr.AccessToken == "" || lr.TokenTTL != 18000 || !lr.GlobalAdmin {
		t.Fatalf("login: got %d %s, want 200 with a token, tokenTtl 18000 and globalAdmin (an --acl-user is a global admin)", code, body)
	}
	if code, body := nacos(t, base, http.MethodPost, "instance", vals("serviceName", "s", "ip", "10.0.0.2", "port", "80", "accessToken", lr.AccessToken)); code != 200 {
		t.Fatalf("nacos register with accessToken form param: %d %s", code, body)
	}
	if code, body := do(t, http.MethodDelete, base+"/nacos/v1/ns/instance?serviceName=s&ip=10.0.0.2&port=80&accessToken="+url.QueryEscape(lr.AccessToken), "", ""); code != 200 {
		t.Fatalf("nacos deregister with accessToken query param: %d %s", code, body)
	}
	if got := len(n.Node().Store().Snapshot(keyOf("s")).Instances); got != 1 {
		t.Fatalf("after authorized writes: %d instances, want 1", got)
	}
}

func TestACL_login(t *testing.T) {
	_, base := startNode(t, withACL(false))
	for _, c := range []struct{ user, pass string }{{"alice", "nope"}, {"bob", "pw"}, {"alice", ""}} {
		if code, _, body := login(t, base, c.user, c.pass); code != http.StatusForbidden {
			t.Errorf("login %s/%s: got %d %s, want 403", c.user, c.pass, code, body)
		}
	}
	if code, _, body := login(t, base, "", "pw"); code != http.StatusBadRequest || !strings.Contains(body, "username") {
		t.Errorf("login without username: got %d %s, want 400 naming username", code, body)
	}
}

func TestACL_readNeedsTokenWithACLRead(t *testing.T) {
	_, base := startNode(t, withACL(true))
	for _, path := range []string{"/v1/instances?service=s", "/v1/services", "/v1/cluster/members", "/nacos/v1/ns/instance/list?serviceName=s"} {
		if code, body := do(t, http.MethodGet, base+path, "", ""); code != http.StatusUnauthorized {
			t.Errorf("GET %s without token: got %d %s, want 401", path, code, body)
		}
		if code, body, _ := doAuth(t, http.MethodGet, base+path, "", "", "static-token"); code != 200 {
			t.Errorf("GET %s with token: got %d %s, want 200", path, code, body)
		}
	}
	if code, _ := do(t, http.MethodGet, base+"/healthz", "", ""); code != 200 {
		t.Errorf("healthz without token: got %d, want 200", code)
	}
}

// With ACLs on, profiles need a token even to read; /metrics follows the
// read rule (open unless --acl-read).
func TestACL_pprofNeedsToken(t *testing.T) {
	_, base := startNode(t, withACL(false), func(c *agent.Config) { c.Pprof = true })
	if code, _, _ := doAuth(t, http.MethodGet, base+"/debug/pprof/cmdline", "", "", ""); code != http.StatusUnauthorized {
		t.Errorf("pprof without a token: %d, want 401", code)
	}
	if code, _, _ := doAuth(t, http.MethodGet, base+"/debug/pprof/cmdline", "", "", "static-token"); code != http.StatusOK {
		t.Errorf("pprof with a token: %d, want 200", code)
	}
	if code, _, _ := doAuth(t, http.MethodGet, base+"/metrics", "", "", ""); code != http.StatusOK {
		t.Errorf("metrics without a token, reads open: %d, want 200", code)
	}
}
