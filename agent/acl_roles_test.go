package agent_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/door/gate"
)

// syncBuffer is a log sink tests read while the agent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

const adminToken = "admin-token"

// withRoles turns ACLs on with an admin static token (and, with read,
// --acl-read), a cheap bcrypt cost and the Consul API, logging to logs.
func withRoles(read bool, logs *syncBuffer) func(*agent.Config) {
	return func(c *agent.Config) {
		c.GossipKey = testSecret
		c.ACL = gate.ACLConfig{Tokens: []string{adminToken}, Read: read, TokenTTL: gate.DefaultTokenTTL, BcryptCost: 4}
		c.ConsulHTTPAddr = "127.0.0.1:0"
		if logs != nil {
			c.Logger = slog.New(slog.NewTextHandler(logs, nil))
		}
	}
}

// authAPI calls /nacos/v1/auth/PATH with v as the form (query for GET and
// DELETE) and token.
func authAPI(t testing.TB, base, method, path, token string, v url.Values) (int, string) {
	t.Helper()
	v.Set("accessToken", token)
	u := base + "/nacos/v1/auth/" + path
	if method == http.MethodGet || method == http.MethodDelete {
		return do(t, method, u+"?"+v.Encode(), "", "")
	}
	return do(t, method, u, form, v.Encode())
}

// mustAuth is authAPI that fails the test unless the answer is 200.
func mustAuth(t testing.TB, base, method, path string, kv ...string) string {
	t.Helper()
	code, body := authAPI(t, base, method, path, adminToken, vals(kv...))
	if code != http.StatusOK {
		t.Fatalf("%s auth/%s %v: got %d %s", method, path, kv, code, body)
	}
	return body
}

// grant creates user with password pw, binds it role and gives the role
// action on resource.
func grant(t testing.TB, base, user, pw, role, resource, action string) {
	t.Helper()
	mustAuth(t, base, http.MethodPost, "users", "username", user, "password", pw)
	mustAuth(t, base, http.MethodPost, "roles", "role", role, "username", user)
	mustAuth(t, base, http.MethodPost, "permissions", "role", role, "resource", resource, "action", action)
}

// tokenOf logs user in and returns the token.
func tokenOf(t *testing.T, base, user, pw string) string {
	t.Helper()
	code, lr, body := login(t, base, user, pw)
	if code != http.StatusOK || lr.AccessToken == "" {
		t.Fatalf("login %s: %d %s", user, code, body)
	}
	return lr.AccessToken
}

// withToken adds accessToken to a Nacos form.
func withToken(v url.Values, tok string) url.Values {
	v.Set("accessToken", tok)
	return v
}

func TestACLRoles_readOnlyUserReadsButWritesNothingOnAnyDoor(t *testing.T) {
	logs := &syncBuffer{}
	n, base := startNode(t, withRoles(true, logs))
	if code, body := nacos(t, base, http.MethodPost, "instance", withToken(vals("serviceName", "s", "ip", "10.0.0.1", "port", "80"), adminToken)); code != 200 {
		t.Fatalf("admin register: %d %s", code, body)
	}
	grant(t, base, "viewer", "viewer-pass", "readers", "*:*:*", "r")
	tok := tokenOf(t, base, "viewer", "viewer-pass")

	// Reads pass on every door (--acl-read is on, so they are checked).
	if l := list(t, base, withToken(vals("serviceName", "s"), tok)); len(l.Hosts) != 1 {
		t.Fatalf("nacos list as viewer: %+v", l)
	}
	consul := "http://" + n.ConsulAddr()
	for _, u := range []string{base + "/v1/instances?service=s", base + "/v1/services", consul + "/v1/catalog/services", consul + "/v1/health/service/s",
		base + "/nacos/v1/ns/operator/switches", base + "/nacos/v1/console/namespaces"} {
		if code, body, _ := doAuth(t, http.MethodGet, u, "", "", tok); code != 200 {
			t.Errorf("read %s as viewer: %d %s", u, code, body)
		}
	}
	if code, body, _ := doAuth(t, http.MethodGet, consul+"/v1/catalog/services", "", "", ""); code != http.StatusUnauthorized && code != http.StatusForbidden {
		t.Errorf("consul read without a token under --acl-read: %d %s", code, body)
	}

	before := n.Node().Store().Index()
	everyWriteRefused(t, base, tok)
	if after := n.Node().Store().Index(); after != before {
		t.Fatalf("the viewer's refused writes changed the registry: index %d -> %d", before, after)
	}

	if code, body := nacos(t, base, http.MethodPost, "instance", vals("serviceName", "s", "ip", "10.0.0.7", "port", "80", "accessToken", "r1.forged.x")); code != http.StatusUnauthorized {
		t.Errorf("nacos register with a forged token: %d %s", code, body)
	}

	// Audit: denied writes are logged with user, source and resource;
	// no password, token or hash is.
	out := logs.String()
	if !strings.Contains(out, `msg="acl: write denied without a valid token"`) || !strings.Contains(out, "not signed by this cluster") {
		t.Errorf("audit log lacks the write refused for a forged token:\n%s", out)
	}
	if !strings.Contains(out, "write denied") || !strings.Contains(out, "user=viewer") || !strings.Contains(out, "source=127.0.0.1") ||
		!strings.Contains(out, "resource=public:DEFAULT_GROUP:s") || !strings.Contains(out, `msg="acl: user created"`) {
		t.Errorf("audit log lacks the denied write or the admin change:\n%s", out)
	}
	for _, secret := range []string{"viewer-pass", tok, adminToken, "$2a$", "r1.forged"} {
		if strings.Contains(out, secret) {
			t.Errorf("the log holds a secret %.12q", secret)
		}
	}
}

func TestACLRoles_namespaceScopedUserWritesOnlyItsNamespace(t *testing.T) {
	n, base := startNode(t, withRoles(true, nil))
	grant(t, base, "alice", "alice-pass", "team-a", "team-a:*:*", "rw")
	tok := tokenOf(t, base, "alice", "alice-pass")

	if code, body := nacos(t, base, http.MethodPost, "instance", withToken(vals("namespaceId", "team-a", "serviceName", "s", "ip", "10.0.0.1", "port", "80"), tok)); code != 200 {
		t.Fatalf("nacos register in team-a: %d %s", code, body)
	}
	if code, body, _ := doAuth(t, http.MethodPost, base+"/v1/instance", "application/json", `{"namespace":"team-a","group":"g","service":"t","ip":"10.0.0.2","port":81}`, tok); code != 200 {
		t.Fatalf("native register in team-a: %d %s", code, body)
	}
	if l := list(t, base, withToken(vals("namespaceId", "team-a", "serviceName", "s"), tok)); len(l.Hosts) != 1 {
		t.Fatalf("nacos list of team-a: %+v", l)
	}
	before := n.Node().Store().Index()
	code, body := nacos(t, base, http.MethodPost, "instance", withToken(vals("serviceName", "s", "ip", "10.0.0.1", "port", "80"), tok))
	if code != http.StatusForbidden || !strings.Contains(body, "lacks permission w on public:DEFAULT_GROUP:s") {
		t.Errorf("nacos register in public: got %d %s, want 403 naming w on public:DEFAULT_GROUP:s", code, body)
	}
	if code, body, _ := doAuth(t, http.MethodPost, base+"/v1/instance", "application/json", `{"service":"s","ip":"10.0.0.2","port":81}`, tok); code != http.StatusForbidden {
		t.Errorf("native register in public: %d %s", code, body)
	}
	if code, body := nacos(t, base, http.MethodGet, "instance/list", withToken(vals("serviceName", "s"), tok)); code != http.StatusForbidden || !strings.Contains(body, "lacks permission r") {
		t.Errorf("nacos list of public with --acl-read: %d %s", code, body)
	}
	if code, body := nacos(t, base, http.MethodGet, "instance/list", withToken(vals("namespaceId", "roster-system", "serviceName", "alice"), tok)); code != http.StatusForbidden {
		t.Errorf("read of the reserved namespace: %d %s", code, body)
	}
	if code, body, _ := doAuth(t, http.MethodGet, base+"/v1/services?namespace=roster-system", "", "", tok); code != http.StatusBadRequest || !strings.Contains(body, "reserved") {
		t.Errorf("native list of the reserved namespace: %d %s, want 400 naming it reserved", code, body)
	}
	if code, body, _ := doAuth(t, http.MethodPost, base+"/v1/instance", "application/json", `{"namespace":"roster-system","group":"acl-users","service":"x","ip":"10.0.0.2","port":81}`, adminToken); code != http.StatusBadRequest {
		t.Errorf("native register in the reserved namespace, even as the admin: %d %s, want 400", code, body)
	}
	if after := n.Node().Store().Index(); after != before {
		t.Fatalf("refused writes changed the registry")
	}
	// Without the role, the same token writes nothing, even in team-a.
	mustAuth(t, base, http.MethodDelete, "roles", "role", "team-a", "username", "alice")
	if code, body := nacos(t, base, http.MethodPost, "instance", withToken(vals("namespaceId", "team-a", "serviceName", "s", "ip", "10.0.0.3", "port", "80"), tok)); code != http.StatusForbidden {
		t.Errorf("register after the role was unbound: %d %s", code, body)
	}
}

func TestACLRoles_scopedStaticTokenAndListsWithoutSecrets(t *testing.T) {
	_, base := startNode(t, withRoles(false, nil), func(c *agent.Config) {
		c.ACL.Tokens = append(c.ACL.Tokens, "ci-token")
		c.ACL.TokenRoles = map[string]string{"ci-token": "deployer"}
	})
	mustAuth(t, base, http.MethodPost, "permissions", "role", "deployer", "resource", "ci:*:*", "action", "w")
	if code, body, _ := doAuth(t, http.MethodPost, base+"/v1/instance", "application/json", `{"namespace":"ci","service":"s","ip":"10.0.0.2","port":81}`, "ci-token"); code != 200 {
		t.Fatalf("scoped token in its namespace: %d %s", code, body)
	}
	if code, body, _ := doAuth(t, http.MethodPost, base+"/v1/instance", "application/json", `{"service":"s","ip":"10.0.0.2","port":81}`, "ci-token"); code != http.StatusForbidden || !strings.Contains(body, "token#2") {
		t.Fatalf("scoped token outside its namespace: %d %s", code, body)
	}
	mustAuth(t, base, http.MethodPost, "users", "username", "bob", "password", "bob-pass")
	users := mustAuth(t, base, http.MethodGet, "users", "pageNo", "1", "pageSize", "10")
	if !strings.Contains(users, `"username":"bob"`) || strings.Contains(users, "$2a$") || strings.Contains(users, "bob-pass") {
		t.Fatalf("user list: %s", users)
	}
	perms := mustAuth(t, base, http.MethodGet, "permissions", "role", "deployer")
	if !strings.Contains(perms, `"resource":"ci:*:*"`) || !strings.Contains(perms, `"totalCount":1`) {
		t.Fatalf("permission list: %s", perms)
	}
	// Bad input: a 400 naming the field.
	for _, c := range []struct {
		path, field string
		kv          []string
	}{
		{"permissions", "action", []string{"role", "deployer", "resource", "ci:*:*", "action", "x"}},
		{"permissions", "resource", []string{"role", "deployer", "resource", "ci", "action", "r"}},
		{"users", "username", []string{"username", "bad name", "password", "p"}},
		{"roles", "role", []string{"role", gate.GlobalAdminRole, "username", "bob"}},
		{"roles", "username", []string{"role", "r1", "username", "nobody"}},
	} {
		code, body := authAPI(t, base, http.MethodPost, c.path, adminToken, vals(c.kv...))
		if code != http.StatusBadRequest || !strings.Contains(body, c.field) {
			t.Errorf("POST auth/%s %v: got %d %s, want 400 naming %s", c.path, c.kv, code, body, c.field)
		}
	}
}

// everyWriteRefused sends every kind of write, on the Nacos and native
// doors and the user API, with tok, and fails the test unless each gets
// 403.
func everyWriteRefused(t *testing.T, base, tok string) {
	t.Helper()
	inst := func() url.Values { return withToken(vals("serviceName", "s", "ip", "10.0.0.1", "port", "80"), tok) }
	nacosWrites := []struct {
		method, path string
		v            url.Values
	}{
		{http.MethodPost, "instance", withToken(vals("serviceName", "s", "ip", "10.0.0.9", "port", "80"), tok)},
		{http.MethodDelete, "instance", inst()},
		{http.MethodPut, "instance", withToken(vals("serviceName", "s", "ip", "10.0.0.1", "port", "80", "weight", "5"), tok)},
		{http.MethodPut, "instance/beat", inst()},
		{http.MethodPost, "service", withToken(vals("serviceName", "other"), tok)},
		{http.MethodPut, "service", withToken(vals("serviceName", "s", "protectThreshold", "0.5"), tok)},
		{http.MethodDelete, "service", withToken(vals("serviceName", "s"), tok)},
		{http.MethodPut, "health/instance", withToken(vals("serviceName", "s", "ip", "10.0.0.1", "port", "80", "healthy", "false"), tok)},
		{http.MethodPut, "operator/switches", withToken(vals("entry", "pushEnabled", "value", "false"), tok)},
	}
	for _, w := range nacosWrites {
		code, body := nacos(t, base, w.method, w.path, w.v)
		if code != http.StatusForbidden || !strings.Contains(body, "viewer") {
			t.Errorf("nacos %s %s as viewer: got %d %s, want 403 naming the user", w.method, w.path, code, body)
		}
	}
	if code, body := nacos(t, base, http.MethodPost, "instance", withToken(vals("serviceName", "s", "ip", "10.0.0.9", "port", "80"), tok)); !strings.Contains(body, "lacks permission w on public:DEFAULT_GROUP:s") {
		t.Errorf("nacos register as viewer: %d %s, want the missing permission named", code, body)
	}
	if code, body := do(t, http.MethodPost, base+"/nacos/v1/console/namespaces", form, withToken(vals("customNamespaceId", "x", "namespaceName", "x"), tok).Encode()); code != http.StatusForbidden {
		t.Errorf("namespace create as viewer: %d %s", code, body)
	}
	const reg = `{"service":"s","ip":"10.0.0.1","port":80}`
	for _, w := range []struct{ method, path, body string }{
		{http.MethodPost, "/v1/instance", `{"service":"s","ip":"10.0.0.8","port":80}`},
		{http.MethodDelete, "/v1/instance?service=s&ip=10.0.0.1&port=80", ""},
		{http.MethodPatch, "/v1/instance", `{"service":"s","ip":"10.0.0.1","port":80,"weight":3}`},
		{http.MethodPut, "/v1/instance/beat", reg},
		{http.MethodPut, "/v1/beats", `{"beats":[` + reg + `]}`},
		{http.MethodPost, "/v1/instances/batch", `{"instances":[` + reg + `]}`},
		{http.MethodPut, "/v1/instance/health?service=s&ip=10.0.0.1&port=80", `{"healthy":false}`},
		{http.MethodGet, "/v1/snapshot", ""},
		{http.MethodGet, "/debug/pprof/", ""},
	} {
		code, body, _ := doAuth(t, w.method, base+w.path, "application/json", w.body, tok)
		if code != http.StatusForbidden {
			t.Errorf("native %s %s as viewer: got %d %s, want 403", w.method, w.path, code, body)
		}
	}
	for _, w := range []struct{ method, path string }{{http.MethodPost, "users"}, {http.MethodPost, "roles"}, {http.MethodPost, "permissions"}, {http.MethodGet, "users"}} {
		if code, body := authAPI(t, base, w.method, w.path, tok, vals("username", "x", "password", "y", "role", "readers", "resource", "*:*:*", "action", "rw")); code != http.StatusForbidden {
			t.Errorf("%s auth/%s as viewer: got %d %s, want 403", w.method, w.path, code, body)
		}
	}
}
