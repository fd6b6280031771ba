package nacos_test

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/nacos-group/nacos-sdk-go/clients"
	"github.com/nacos-group/nacos-sdk-go/clients/naming_client"
	"github.com/nacos-group/nacos-sdk-go/vo"

	"github.com/roster-io/roster/internal/await"
)

// newScopedClient is newClientAs in namespace ns.
func newScopedClient(t *testing.T, a *agent, ns, user, pass string) naming_client.INamingClient {
	t.Helper()
	dir, err := os.MkdirTemp(workDir, "client-")
	if err != nil {
		t.Fatal(err)
	}
	cc, sc := clientConfig(a.port, ns, dir)
	cc.Username, cc.Password = user, pass
	c, err := clients.NewNamingClient(vo.NacosClientParam{ClientConfig: &cc, ServerConfigs: sc})
	if err != nil {
		t.Fatalf("NewNamingClient: %v", err)
	}
	return c
}

// TestACL_sdkScopedUser: the admin creates a user with rw on team-a:*:*
// through Nacos' user, role and permission API; nacos-sdk-go v1 logged
// in as that user registers and lists in team-a, and gets an error for
// the same registration in public.
func TestACL_sdkScopedUser(t *testing.T) {
	t.Parallel()
	a := securedAgent(t)
	status, body, err := a.post("/nacos/v1/auth/users/login", url.Values{"username": {"nacos"}, "password": {"s3cret"}})
	admin := jsonString(body, "accessToken")
	if err != nil || status != http.StatusOK || admin == "" {
		t.Fatalf("admin login: %d %s %v", status, body, err)
	}
	for _, step := range []struct {
		path string
		form url.Values
	}{
		{"users", url.Values{"username": {"team-a-app"}, "password": {"a-pass"}}},
		{"roles", url.Values{"role": {"team-a"}, "username": {"team-a-app"}}},
		{"permissions", url.Values{"role": {"team-a"}, "resource": {"team-a:*:*"}, "action": {"rw"}}},
	} {
		step.form.Set("accessToken", admin)
		if status, body, err := a.post("/nacos/v1/auth/"+step.path, step.form); err != nil || status != http.StatusOK {
			t.Fatalf("auth/%s: %d %s %v", step.path, status, body, err)
		}
	}
	svc := uniqueName("scoped")
	inA := newScopedClient(t, a, "team-a", "team-a-app", "a-pass")
	register(t, inA, vo.RegisterInstanceParam{ServiceName: svc, Ip: "10.2.0.1", Port: 80, Weight: 1,
		Enable: true, Healthy: true, Ephemeral: true, Metadata: timings()})
	await.Explain(t, cacheWait, "the scoped SDK lists its instance in team-a", func() (bool, string) {
		hosts, err := inA.SelectAllInstances(vo.SelectAllInstancesParam{ServiceName: svc})
		if err != nil {
			return false, err.Error()
		}
		return len(hosts) == 1, fmt.Sprintf("hosts: %+v", hosts)
	})
	inPublic := newScopedClient(t, a, "", "team-a-app", "a-pass")
	if ok, err := inPublic.RegisterInstance(vo.RegisterInstanceParam{ServiceName: svc, Ip: "10.2.0.2", Port: 80,
		Weight: 1, Enable: true, Healthy: true, Ephemeral: false}); err == nil || ok {
		t.Fatalf("scoped user registers in public: got (%v, %v), want an error", ok, err)
	}
	q := url.Values{"serviceName": {svc}, "accessToken": {admin}}
	if status, body, err := a.get("/nacos/v1/ns/instance/list", q); err != nil || status != http.StatusOK || strings.Contains(body, "10.2.0.2") {
		t.Fatalf("public after the refused registration: %d %s %v", status, body, err)
	}
}
