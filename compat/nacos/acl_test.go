package nacos_test

// ACLs: an agent with --acl-user and --acl-read, and the real
// nacos-sdk-go v1.1.4 client logging in with Username/Password (POST
// /nacos/v1/auth/users/login) and sending the accessToken it gets on every
// request. A client without credentials is refused.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nacos-group/nacos-sdk-go/clients"
	"github.com/nacos-group/nacos-sdk-go/clients/naming_client"
	"github.com/nacos-group/nacos-sdk-go/vo"

	"github.com/roster-io/roster/internal/await"
)

// securedAgent starts an agent of its own with ACLs on (reads too) and
// stops it when the test ends.
func securedAgent(t *testing.T) *agent {
	t.Helper()
	a, err := startAgent("--acl-user", "nacos:s3cret", "--acl-read",
		"--gossip-key", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
	if err != nil {
		t.Fatalf("start agent with ACLs: %v", err)
	}
	t.Cleanup(func() {
		if err := a.stop(); err != nil {
			t.Errorf("stop agent: %v\n%s", err, a.Output())
		}
	})
	return a
}

// newClientAs is newClient with credentials.
func newClientAs(t *testing.T, a *agent, user, pass string) naming_client.INamingClient {
	t.Helper()
	dir, err := os.MkdirTemp(workDir, "client-")
	if err != nil {
		t.Fatal(err)
	}
	cc, sc := clientConfig(a.port, "", dir)
	cc.Username, cc.Password = user, pass
	c, err := clients.NewNamingClient(vo.NacosClientParam{ClientConfig: &cc, ServerConfigs: sc})
	if err != nil {
		t.Fatalf("NewNamingClient: %v", err)
	}
	return c
}

func TestACL_sdkWithCredentials(t *testing.T) {
	t.Parallel()
	a := securedAgent(t)
	svc := uniqueName("acl")

	// Without credentials: register and list are refused, and nothing is
	// registered.
	anon := newClientAs(t, a, "", "")
	if ok, err := anon.RegisterInstance(vo.RegisterInstanceParam{ServiceName: svc, Ip: "10.1.0.1", Port: 80,
		Weight: 1, Enable: true, Healthy: true, Ephemeral: false}); err == nil || ok {
		t.Fatalf("register without credentials: got (%v, %v), want an error", ok, err)
	}
	if status, body, _ := a.post("/nacos/v1/ns/instance", url.Values{"serviceName": {svc}, "ip": {"10.1.0.2"}, "port": {"80"}}); status != http.StatusUnauthorized {
		t.Fatalf("raw register without token: got %d %s, want 401", status, body)
	}
	if status, body, _ := a.get("/nacos/v1/ns/instance/list", url.Values{"serviceName": {svc}}); status != http.StatusUnauthorized {
		t.Fatalf("raw list without token (--acl-read): got %d %s, want 401", status, body)
	}
	// Wrong password: the login is refused with 403 and writes fail.
	if status, body, _ := a.post("/nacos/v1/auth/users/login", url.Values{"username": {"nacos"}, "password": {"wrong"}}); status != http.StatusForbidden {
		t.Fatalf("login with a wrong password: got %d %s, want 403", status, body)
	}
	bad := newClientAs(t, a, "nacos", "wrong")
	if ok, err := bad.RegisterInstance(vo.RegisterInstanceParam{ServiceName: svc, Ip: "10.1.0.3", Port: 80,
		Weight: 1, Enable: true, Healthy: true, Ephemeral: false}); err == nil || ok {
		t.Fatalf("register with a wrong password: got (%v, %v), want an error", ok, err)
	}

	// With Username/Password the SDK logs in and everything works,
	// beats included.
	c := newClientAs(t, a, "nacos", "s3cret")
	register(t, c, vo.RegisterInstanceParam{ServiceName: svc, Ip: "10.1.0.9", Port: 8080, Weight: 1,
		Enable: true, Healthy: true, Ephemeral: true, Metadata: timings()})
	await.Explain(t, cacheWait, "SDK lists its instance through the ACL", func() (bool, string) {
		hosts, err := c.SelectAllInstances(vo.SelectAllInstancesParam{ServiceName: svc})
		if err != nil {
			return false, err.Error()
		}
		_, ok := findHost(hosts, "10.1.0.9", 8080)
		return ok && len(hosts) == 1, fmt.Sprintf("hosts: %+v", hosts)
	})
	// The SDK's beats carry its token: on the server the instance stays
	// healthy past its delete timeout.
	status, body, err := a.post("/nacos/v1/auth/users/login", url.Values{"username": {"nacos"}, "password": {"s3cret"}})
	token := jsonString(body, "accessToken")
	if err != nil || status != http.StatusOK || token == "" {
		t.Fatalf("login: %d %s %v", status, body, err)
	}
	q := url.Values{"serviceName": {svc}, "ip": {"10.1.0.9"}, "port": {"8080"}, "accessToken": {token}}
	deadline := time.Now().Add(time.Duration(deleteTimeoutMs+2*beatIntervalMs) * time.Millisecond)
	for time.Now().Before(deadline) {
		status, body, err := a.get("/nacos/v1/ns/instance", q)
		var inst rawInstance
		if err != nil || status != http.StatusOK || json.Unmarshal([]byte(body), &inst) != nil || !inst.Healthy {
			t.Fatalf("beating instance on the server: %d %s %v", status, body, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// post sends a form POST.
func (a *agent) post(path string, form url.Values) (int, string, error) {
	return a.doForm(http.MethodPost, path, form)
}

func (a *agent) doForm(method, path string, form url.Values) (int, string, error) {
	req, err := http.NewRequest(method, a.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}
