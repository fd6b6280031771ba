package consul_test

import (
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	capi "github.com/hashicorp/consul/api"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/agent/agenttest"
)

// start runs an in-process roster agent with the Consul-compatible API
// on and returns it with a Consul client of that API.
func start(t *testing.T, mutate ...func(*agent.Config)) (*agent.Agent, *capi.Client) {
	t.Helper()
	a := agenttest.Start(t, append([]func(*agent.Config){func(c *agent.Config) { c.ConsulHTTPAddr = "127.0.0.1:0" }}, mutate...)...)
	cfg := capi.DefaultConfig()
	cfg.Address = a.ConsulAddr()
	c, err := capi.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a, c
}

// nacosRegister registers an instance through roster's Nacos v1 API.
func nacosRegister(t *testing.T, a *agent.Agent, params string) {
	t.Helper()
	resp, err := http.Post("http://"+a.Addr()+"/nacos/v1/ns/instance?"+params, "application/x-www-form-urlencoded", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != 200 || string(b) != "ok" {
		t.Fatalf("nacos register %s: %d %s", params, resp.StatusCode, b)
	}
}

func form(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v.Encode()
}

// TestCatalogAndHealth reads instances registered through the Nacos API
// with the official client's catalog and health calls.
func TestCatalogAndHealth(t *testing.T) {
	a, c := start(t)
	nacosRegister(t, a, form("serviceName", "web", "ip", "10.0.0.1", "port", "8080", "weight", "3",
		"metadata", `{"tags":"prod,edge","version":"1.2"}`, "ephemeral", "false"))
	nacosRegister(t, a, form("serviceName", "web", "ip", "10.0.0.2", "port", "8080", "ephemeral", "false", "enabled", "false"))
	nacosRegister(t, a, form("serviceName", "db", "groupName", "infra", "namespaceId", "dev", "ip", "10.9.0.1", "port", "5432"))

	services, meta, err := c.Catalog().Services(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(services) != 1 || !slices.Equal(services["web"], []string{"cluster=DEFAULT", "edge", "prod"}) || meta.LastIndex == 0 || !meta.KnownLeader {
		t.Fatalf("Catalog().Services: %v (index %d, known leader %v)", services, meta.LastIndex, meta.KnownLeader)
	}
	services, _, err = c.Catalog().Services(&capi.QueryOptions{Namespace: "infra", Partition: "dev"})
	if err != nil || len(services) != 1 || services["db"] == nil {
		t.Fatalf("Catalog().Services in namespace infra, partition dev: %v, %v; want db", services, err)
	}

	cat, _, err := c.Catalog().Service("web", "prod", nil)
	if err != nil || len(cat) != 1 {
		t.Fatalf("Catalog().Service(web, prod): %v, %v; want one", cat, err)
	}
	if s := cat[0]; s.ServiceAddress != "10.0.0.1" || s.ServicePort != 8080 || s.ServiceMeta["version"] != "1.2" ||
		s.ServiceWeights.Passing != 3 || s.Datacenter != "dc1" || s.Node != "10.0.0.1" {
		t.Errorf("Catalog().Service(web): %+v", s)
	}

	entries, _, err := c.Health().Service("web", "", false, nil)
	if err != nil || len(entries) != 2 {
		t.Fatalf("Health().Service(web): %d entries, %v; want 2", len(entries), err)
	}
	passing, _, err := c.Health().Service("web", "", true, nil)
	if err != nil || len(passing) != 1 || passing[0].Service.Address != "10.0.0.1" || passing[0].Checks.AggregatedStatus() != capi.HealthPassing {
		t.Fatalf("Health().Service(web, passing): %v, %v; want 10.0.0.1 passing", passing, err)
	}
	for _, e := range entries {
		if e.Service.Address == "10.0.0.2" && e.Checks.AggregatedStatus() != capi.HealthMaint {
			t.Errorf("disabled instance: aggregated status %s; want %s", e.Checks.AggregatedStatus(), capi.HealthMaint)
		}
	}
	checks, _, err := c.Health().Checks("web", nil)
	if err != nil || len(checks) != 5 || checks.AggregatedStatus() != capi.HealthMaint {
		t.Errorf("Health().Checks(web): %d checks, aggregated %s, %v; want 5, maintenance", len(checks), checks.AggregatedStatus(), err)
	}
	state, _, err := c.Health().State(capi.HealthCritical, nil)
	if err != nil || len(state) != 1 || state[0].CheckID != "_service_maintenance:10.0.0.2#8080#DEFAULT#DEFAULT_GROUP@@web" {
		t.Errorf("Health().State(critical): %v, %v; want the disabled instance's maintenance check", state, err)
	}
	dcs, err := c.Catalog().Datacenters()
	if err != nil || !slices.Equal(dcs, []string{"dc1"}) {
		t.Errorf("Catalog().Datacenters: %v, %v", dcs, err)
	}
	self, err := c.Agent().Self()
	if err != nil || self["Config"]["Datacenter"] != "dc1" {
		t.Errorf("Agent().Self: %v, %v", self, err)
	}
	leader, err := c.Status().Leader()
	if err != nil || leader != a.ConsulAddr() {
		t.Errorf("Status().Leader: %q, %v; want %s", leader, err, a.ConsulAddr())
	}
	nodes, _, err := c.Catalog().Nodes(nil)
	if err != nil || len(nodes) != 2 || nodes[0].Address != "10.0.0.1" {
		t.Errorf("Catalog().Nodes: %v, %v; want the two hosts of the public namespace", nodes, err)
	}
}

// TestBlockingQuery waits with the client's blocking query on a service
// and registers an instance through the Nacos API meanwhile: the query
// returns with it and a higher index.
func TestBlockingQuery(t *testing.T) {
	a, c := start(t)
	_, meta, err := c.Health().Service("orders", "", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		entries []*capi.ServiceEntry
		meta    *capi.QueryMeta
		err     error
		took    time.Duration
	}
	done := make(chan result, 1)
	go func() {
		start := time.Now()
		e, m, err := c.Health().Service("orders", "", true, &capi.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: 20 * time.Second})
		done <- result{e, m, err, time.Since(start)}
	}()
	time.Sleep(200 * time.Millisecond) // the query is waiting
	select {
	case r := <-done:
		t.Fatalf("blocking query returned before any change: %+v", r)
	default:
	}
	nacosRegister(t, a, form("serviceName", "orders", "ip", "10.2.0.1", "port", "7000"))
	select {
	case r := <-done:
		if r.err != nil || len(r.entries) != 1 || r.entries[0].Service.Port != 7000 || r.meta.LastIndex <= meta.LastIndex {
			t.Fatalf("blocking query: %v entries, index %d (was %d), %v", len(r.entries), r.meta.LastIndex, meta.LastIndex, r.err)
		}
		t.Logf("blocking query returned %v after it started, with the new instance", r.took)
	case <-time.After(5 * time.Second):
		t.Fatal("blocking query still waiting 5 s after the registration")
	}

	// The services list blocks on the registry's index.
	_, meta, err = c.Catalog().Services(nil)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan map[string][]string, 1)
	go func() {
		s, _, _ := c.Catalog().Services(&capi.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: 20 * time.Second})
		got <- s
	}()
	time.Sleep(200 * time.Millisecond)
	nacosRegister(t, a, form("serviceName", "billing", "ip", "10.2.0.2", "port", "7001"))
	select {
	case s := <-got:
		if s["billing"] == nil {
			t.Fatalf("Catalog().Services after the registration: %v; want billing", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("services blocking query still waiting 5 s after the registration")
	}
}

// TestWritesRefused checks that the client's writes get roster's 405.
func TestWritesRefused(t *testing.T) {
	_, c := start(t)
	err := c.Agent().ServiceRegister(&capi.AgentServiceRegistration{Name: "x", Port: 1})
	if err == nil || !strings.Contains(err.Error(), "405") || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("Agent().ServiceRegister: %v; want a 405 naming the API read-only", err)
	}
	if _, err := c.KV().Put(&capi.KVPair{Key: "k", Value: []byte("v")}, nil); err == nil || !strings.Contains(err.Error(), "405") {
		t.Fatalf("KV().Put: %v; want 405", err)
	}
}

// TestACLToken checks the client's token with --acl-read.
func TestACLToken(t *testing.T) {
	a, _ := start(t, func(c *agent.Config) { c.ACL.Tokens, c.ACL.Read, c.GossipAddr = []string{"t0ken"}, true, "" })
	cfg := capi.DefaultConfig()
	cfg.Address = a.ConsulAddr()
	anon, _ := capi.NewClient(cfg)
	if _, _, err := anon.Catalog().Services(nil); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("no token: %v; want 401", err)
	}
	cfg.Token = "t0ken"
	authed, _ := capi.NewClient(cfg)
	if _, _, err := authed.Catalog().Services(nil); err != nil {
		t.Fatalf("with the token: %v", err)
	}
}
