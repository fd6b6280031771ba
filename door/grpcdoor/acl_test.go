package grpcdoor_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/door/gate"
)

// authPost calls the Nacos user, role or permission API as the admin.
func authPost(t *testing.T, a *agent.Agent, path string, kv ...string) {
	t.Helper()
	v := url.Values{"accessToken": {"admin"}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	resp, err := http.PostForm(agenttest.URL(a)+"/nacos/v1/auth/"+path, v)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("auth/%s %v: %d", path, kv, resp.StatusCode)
	}
}

// TestDoor_aclScopedUser: a user with read on every namespace lists but
// cannot register; one with rw on team-a registers there and not in
// public; the refusals are 403 naming the missing permission.
func TestDoor_aclScopedUser(t *testing.T) {
	a := agenttest.Start(t, fast, func(c *agent.Config) {
		c.ACL = gate.ACLConfig{Tokens: []string{"admin"}, Read: true, TokenTTL: gate.DefaultTokenTTL, BcryptCost: 4}
		c.GossipAddr = ""
	})
	authPost(t, a, "users", "username", "viewer", "password", "pv")
	authPost(t, a, "roles", "role", "readers", "username", "viewer")
	authPost(t, a, "permissions", "role", "readers", "resource", "*:*:*", "action", "r")
	authPost(t, a, "users", "username", "alice", "password", "pa")
	authPost(t, a, "roles", "role", "team-a", "username", "alice")
	authPost(t, a, "permissions", "role", "team-a", "resource", "team-a:*:*", "action", "rw")
	tokenFor := func(user, pw string) string {
		tok, _, err := a.Gate().Login("127.0.0.1", user, pw)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}

	c := connect(t, a)
	c.token = "admin"
	c.register("svc", "10.0.0.1", 1)
	before := a.Node().Store().Index()

	c.token = tokenFor("viewer", "pv")
	if h := c.query("svc"); len(h) != 1 {
		t.Fatalf("viewer query: %v", h)
	}
	for _, typ := range []string{"registerInstance", "deregisterInstance"} {
		_, body := c.call("InstanceRequest", instanceReq(typ, "svc", "10.0.0.1", 1))
		if body["errorCode"] != 403.0 || !strings.Contains(body["message"].(string), "lacks permission w on public:DEFAULT_GROUP:svc") {
			t.Errorf("viewer %s: got %v, want 403 naming the permission", typ, body)
		}
	}
	if a.Node().Store().Index() != before {
		t.Fatal("the viewer's refused writes changed the registry")
	}

	c.token = tokenFor("alice", "pa")
	req := instanceReq("registerInstance", "svc", "10.0.0.2", 1)
	req["namespace"] = "team-a"
	if _, body := c.call("InstanceRequest", req); body["resultCode"] != 200.0 {
		t.Fatalf("alice registers in team-a: %v", body)
	}
	if _, body := c.call("InstanceRequest", instanceReq("registerInstance", "svc", "10.0.0.2", 1)); body["errorCode"] != 403.0 {
		t.Fatalf("alice registers in public: %v", body)
	}
	if _, body := c.call("ServiceQueryRequest", map[string]any{"requestId": "q", "namespace": "public", "serviceName": "svc", "groupName": "DEFAULT_GROUP"}); body["errorCode"] != 403.0 {
		t.Fatalf("alice reads public under --acl-read: %v", body)
	}
	c.token = "r1.forged.token"
	if _, body := c.call("InstanceRequest", instanceReq("registerInstance", "svc", "10.0.0.3", 1)); body["errorCode"] != 403.0 {
		t.Fatalf("forged token: %v", body)
	}
}

// TestDoor_reservedNamespaceRefused: the namespace of the cluster's own
// records (users among them) is refused as a parameter, ACLs off.
func TestDoor_reservedNamespaceRefused(t *testing.T) {
	a := agenttest.Start(t, fast, func(c *agent.Config) { c.GossipAddr = "" })
	c := connect(t, a)
	req := instanceReq("registerInstance", "x", "10.0.0.1", 1)
	req["namespace"] = gate.SystemNamespace
	if _, body := c.call("InstanceRequest", req); body["errorCode"] != 400.0 || !strings.Contains(body["message"].(string), "reserved") {
		t.Fatalf("register in the reserved namespace: %v", body)
	}
}
