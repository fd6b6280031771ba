package consul_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/internal/await"
	"github.com/roster-io/roster/store"
)

// start starts an agent serving the Consul-compatible API.
func start(t *testing.T, mutate ...func(*agent.Config)) (*agent.Agent, string) {
	t.Helper()
	a := agenttest.Start(t, append([]func(*agent.Config){func(c *agent.Config) { c.ConsulHTTPAddr = "127.0.0.1:0" }}, mutate...)...)
	return a, "http://" + a.ConsulAddr()
}

// get sends a GET with optional headers (name, value pairs) and returns
// the response (body read) and body.
func get(t *testing.T, url string, headers ...string) (*http.Response, string) {
	t.Helper()
	return do(t, http.MethodGet, url, headers...)
}

func do(t *testing.T, method, url string, headers ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// decode decodes body into v or fails.
func decode(t *testing.T, body string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("decode %q: %v", body, err)
	}
}

type inst struct {
	ip      string
	port    int
	healthy bool
	enabled bool
	meta    map[string]string
}

func register(t *testing.T, a *agent.Agent, k store.Key, ins ...inst) {
	t.Helper()
	for _, in := range ins {
		_, err := a.Node().Register(context.Background(), k, store.Instance{
			InstanceKey: store.InstanceKey{Cluster: store.DefaultCluster, IP: in.ip, Port: in.port},
			Weight:      2, Healthy: in.healthy, Enabled: in.enabled, Metadata: in.meta,
		})
		if err != nil {
			t.Fatalf("register %s: %v", k, err)
		}
	}
}

func svc(name string) store.Key {
	return store.Key{Namespace: store.DefaultNamespace, Group: store.DefaultGroup, Service: name}
}

// TestConsul_catalogAndHealth checks the catalog and health answers:
// Consul's field names, tags from the cluster and the "tags" metadata
// key, meta, weights, checks per state, and the passing and tag filters.
func TestConsul_catalogAndHealth(t *testing.T) {
	a, base := start(t)
	register(t, a, svc("web"),
		inst{ip: "10.0.0.1", port: 80, healthy: true, enabled: true, meta: map[string]string{"tags": "v1, edge", "zone": "a"}},
		inst{ip: "10.0.0.2", port: 81, healthy: false, enabled: true},
		inst{ip: "10.0.0.3", port: 82, healthy: true, enabled: false},
	)
	register(t, a, store.Key{Namespace: "dev", Group: "orders", Service: "api"}, inst{ip: "10.1.0.1", port: 9, healthy: true, enabled: true})

	resp, body := get(t, base+"/v1/catalog/services")
	var services map[string][]string
	decode(t, body, &services)
	if resp.StatusCode != 200 || len(services) != 1 || strings.Join(services["web"], ",") != "cluster=DEFAULT,edge,v1" {
		t.Fatalf("catalog/services: %d %s; want web with tags cluster=DEFAULT,edge,v1 only", resp.StatusCode, body)
	}
	if resp.Header.Get("X-Consul-Index") == "" || resp.Header.Get("X-Consul-KnownLeader") != "true" || resp.Header.Get("X-Consul-LastContact") != "0" {
		t.Errorf("catalog/services headers: %v", resp.Header)
	}
	_, body = get(t, base+"/v1/catalog/services?ns=orders&partition=dev")
	services = nil
	if decode(t, body, &services); len(services) != 1 || services["api"] == nil {
		t.Fatalf("catalog/services in ns=orders partition=dev: %s; want api", body)
	}

	_, body = get(t, base+"/v1/catalog/service/web")
	var cat []map[string]any
	decode(t, body, &cat)
	if len(cat) != 3 || cat[0]["ServiceName"] != "web" || cat[0]["ServiceAddress"] != "10.0.0.1" || cat[0]["ServicePort"] != float64(80) ||
		cat[0]["Node"] != "10.0.0.1" || cat[0]["Datacenter"] != "dc1" || cat[0]["ServiceID"] != "10.0.0.1#80#DEFAULT#DEFAULT_GROUP@@web" {
		t.Fatalf("catalog/service/web: %s", body)
	}
	if m := cat[0]["ServiceMeta"].(map[string]any); m["zone"] != "a" || cat[0]["ServiceWeights"].(map[string]any)["Passing"] != float64(2) {
		t.Errorf("catalog/service/web meta and weights: %v %v", cat[0]["ServiceMeta"], cat[0]["ServiceWeights"])
	}
	_, body = get(t, base+"/v1/catalog/service/web?tag=edge&tag=v1")
	if decode(t, body, &cat); len(cat) != 1 {
		t.Errorf("catalog/service/web?tag=edge&tag=v1: %s; want one entry", body)
	}
	_, body = get(t, base+"/v1/catalog/service/orders@@api?partition=dev")
	if decode(t, body, &cat); len(cat) != 1 || cat[0]["ServiceAddress"] != "10.1.0.1" {
		t.Errorf("catalog/service/orders@@api?partition=dev: %s; want 10.1.0.1", body)
	}

	type check struct{ CheckID, Status, ServiceID string }
	type entry struct {
		Node    struct{ Node, Address string }
		Service struct {
			ID, Service, Address string
			Port                 int
			Tags                 []string
		}
		Checks []check
	}
	var all, passing []entry
	_, body = get(t, base+"/v1/health/service/web")
	decode(t, body, &all)
	_, pbody := get(t, base+"/v1/health/service/web?passing")
	decode(t, pbody, &passing)
	if len(all) != 3 || len(passing) != 1 || passing[0].Service.Address != "10.0.0.1" || passing[0].Service.Port != 80 {
		t.Fatalf("health/service/web: %d entries, passing %s; want 3 and only 10.0.0.1:80", len(all), pbody)
	}
	status := map[string]string{} // ip → statuses of its checks
	for _, e := range all {
		for _, c := range e.Checks {
			kind, _, _ := strings.Cut(c.CheckID, ":")
			status[e.Node.Address] += kind + "=" + c.Status + " "
		}
	}
	want := map[string]string{
		"10.0.0.1": "serfHealth=passing service=passing ",
		"10.0.0.2": "serfHealth=passing service=critical ",
		"10.0.0.3": "serfHealth=passing service=passing _service_maintenance=critical ",
	}
	for ip, w := range want {
		if status[ip] != w {
			t.Errorf("health checks of %s: %q; want %q", ip, status[ip], w)
		}
	}
	var checks []check
	_, body = get(t, base+"/v1/health/checks/web")
	if decode(t, body, &checks); len(checks) != 7 {
		t.Errorf("health/checks/web: %d checks; want 7 (2 for each instance, and the disabled one's maintenance)", len(checks))
	}
	checks = nil
	_, body = get(t, base+"/v1/health/state/critical")
	if decode(t, body, &checks); len(checks) != 2 {
		t.Errorf("health/state/critical: %s; want the unhealthy instance's check and the disabled one's maintenance", body)
	}
	checks = nil
	_, body = get(t, base+"/v1/health/state/any?partition=dev&ns=orders")
	if decode(t, body, &checks); len(checks) != 2 || checks[1].ServiceID != "10.1.0.1#9#DEFAULT#orders@@api" {
		t.Errorf("health/state/any in dev/orders: %s; want the two checks of api's instance", body)
	}
	if resp, _ := get(t, base+"/v1/health/state/sideways"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("health/state/sideways: %d; want 400", resp.StatusCode)
	}
	if _, body = get(t, base+"/v1/health/service/nosuch"); body != "[]" {
		t.Errorf("health of an unknown service: %s; want []", body)
	}
}

// TestConsul_blockingQueries checks that a query with an index waits
// until the service changes, returns the new index, and returns at the
// wait's end unchanged; the services list blocks on the registry index.
func TestConsul_blockingQueries(t *testing.T) {
	a, base := start(t)
	register(t, a, svc("web"), inst{ip: "10.0.0.1", port: 80, healthy: true, enabled: true})
	resp, _ := get(t, base+"/v1/health/service/web")
	index := resp.Header.Get("X-Consul-Index")

	startAt := time.Now()
	resp, body := get(t, base+"/v1/health/service/web?index="+index+"&wait=200ms")
	if el := time.Since(startAt); el < 150*time.Millisecond || resp.Header.Get("X-Consul-Index") != index || strings.Count(body, `"Node":{`) != 1 {
		t.Fatalf("unchanged service: returned after %v with index %s (was %s); want the wait and the same index", el, resp.Header.Get("X-Consul-Index"), index)
	}

	for _, path := range []string{"/v1/health/service/web?index=", "/v1/catalog/services?index="} {
		resp, _ = get(t, base+strings.Split(path, "?")[0])
		idx := resp.Header.Get("X-Consul-Index")
		done := make(chan string, 1)
		go func() {
			r, err := http.Get(base + path + idx + "&wait=20s")
			if err != nil {
				done <- err.Error()
				return
			}
			r.Body.Close()
			done <- r.Header.Get("X-Consul-Index")
		}()
		time.Sleep(100 * time.Millisecond) // let the query block
		register(t, a, svc("web"), inst{ip: "10.0.0.9", port: 80 + len(path), healthy: true, enabled: true})
		select {
		case got := <-done:
			if got == idx || got == "" {
				t.Fatalf("%s: index %q after a registration; want one past %s", path, got, idx)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: blocking query still waiting 5 s after a registration", path)
		}
	}
}

// TestConsul_writesAndUnknownPaths checks the read-only answers.
func TestConsul_writesAndUnknownPaths(t *testing.T) {
	_, base := start(t)
	for _, m := range []string{http.MethodPut, http.MethodPost, http.MethodDelete} {
		resp, body := do(t, m, base+"/v1/agent/service/register")
		if resp.StatusCode != http.StatusMethodNotAllowed || !strings.Contains(body, "read-only") || resp.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s /v1/agent/service/register: %d %q; want 405 naming the API read-only", m, resp.StatusCode, body)
		}
	}
	if resp, body := do(t, http.MethodPut, base+"/v1/catalog/services"); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("PUT /v1/catalog/services: %d %s; want 405", resp.StatusCode, body)
	}
	if resp, body := get(t, base+"/v1/kv/x"); resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "does not serve /v1/kv/x") {
		t.Errorf("GET /v1/kv/x: %d %q; want 404 naming the path", resp.StatusCode, body)
	}
}

// TestConsul_badParameters checks that bad parameters get 400 naming
// them.
func TestConsul_badParameters(t *testing.T) {
	_, base := start(t)
	for q, field := range map[string]string{
		"dc=dc9": "dc", "filter=Service.Tags+contains+%22a%22": "filter", "wait=soon": "wait", "index=-1": "index",
		"passing=maybe": "passing", "node-meta=a:b": "node-meta", "ns=a%40%40b": "ns",
	} {
		resp, body := get(t, base+"/v1/health/service/web?"+q)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, field) {
			t.Errorf("?%s: %d %q; want 400 naming %s", q, resp.StatusCode, body, field)
		}
	}
	if resp, _ := get(t, base+"/v1/health/service/web?dc=dc1&wait=1s&stale&ns=default"); resp.StatusCode != 200 {
		t.Errorf("dc=dc1&wait=1s&stale&ns=default: %d; want 200", resp.StatusCode)
	}
}

// TestConsul_statusAndAgent checks the status and agent views.
func TestConsul_statusAndAgent(t *testing.T) {
	a, base := start(t, func(c *agent.Config) { c.ConsulDatacenter = "east" })
	_, body := get(t, base+"/v1/status/leader")
	if body != `"`+a.ConsulAddr()+`"` {
		t.Errorf("status/leader: %s; want this node's address", body)
	}
	// The member view fills in from gossip's events, just after ready.
	await.Explain(t, 5*time.Second, "status/peers names this node", func() (bool, string) {
		var peers []string
		_, body := get(t, base+"/v1/status/peers")
		decode(t, body, &peers)
		return len(peers) == 1 && peers[0] == a.Addr(), body
	})
	var self map[string]map[string]any
	_, body = get(t, base+"/v1/agent/self")
	if decode(t, body, &self); self["Config"]["Datacenter"] != "east" || self["Config"]["NodeName"] != a.Node().Name() {
		t.Errorf("agent/self: %s", body)
	}
	if _, body = get(t, base+"/v1/catalog/datacenters"); body != `["east"]` {
		t.Errorf("catalog/datacenters: %s", body)
	}
	a.Node().SetStateForTesting(false, false)
	resp, _ := get(t, base+"/v1/catalog/services")
	_, leader := get(t, base+"/v1/status/leader")
	a.Node().SetStateForTesting(true, false)
	if resp.StatusCode != http.StatusServiceUnavailable || leader != `""` {
		t.Errorf("syncing: catalog/services %d, leader %s; want 503 and no leader", resp.StatusCode, leader)
	}
}

// TestConsul_gate checks ACL tokens (X-Consul-Token, the token parameter,
// Bearer) with --acl-read, and the watcher cap.
func TestConsul_gate(t *testing.T) {
	a, base := start(t, func(c *agent.Config) {
		c.ACL.Tokens, c.ACL.Read, c.GossipAddr, c.MaxWatchers = []string{"s3cret"}, true, "", 1
	})
	if resp, _ := get(t, base+"/v1/catalog/services"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token: %d; want 401", resp.StatusCode)
	}
	if resp, _ := get(t, base+"/v1/catalog/services", "X-Consul-Token", "wrong"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong token: %d; want 401", resp.StatusCode)
	}
	for _, h := range [][]string{{"X-Consul-Token", "s3cret"}, {"Authorization", "Bearer s3cret"}} {
		if resp, body := get(t, base+"/v1/catalog/services", h...); resp.StatusCode != 200 {
			t.Errorf("%s: %d %s; want 200", h[0], resp.StatusCode, body)
		}
	}
	if resp, _ := get(t, base+"/v1/catalog/services?token=s3cret"); resp.StatusCode != 200 {
		t.Errorf("token parameter: %d; want 200", resp.StatusCode)
	}
	// A write is refused as read-only once the token passes, as a read's.
	if resp, _ := do(t, http.MethodPut, base+"/v1/agent/service/register"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("write without a token under --acl-read: %d; want 401", resp.StatusCode)
	}
	if resp, _ := do(t, http.MethodPut, base+"/v1/agent/service/register", "X-Consul-Token", "s3cret"); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("write with the token: %d; want 405", resp.StatusCode)
	}

	resp, _ := get(t, base+"/v1/health/service/w?token=s3cret")
	idx := resp.Header.Get("X-Consul-Index")
	done := make(chan struct{})
	go func() {
		defer close(done)
		if r, err := http.Get(base + "/v1/health/service/w?token=s3cret&wait=2s&index=" + idx); err == nil {
			r.Body.Close()
		}
	}()
	time.Sleep(200 * time.Millisecond)
	resp, body := get(t, base+"/v1/health/service/w?token=s3cret&wait=2s&index="+idx)
	<-done
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "max-watchers") {
		t.Errorf("second watcher over --max-watchers 1: %d %q; want 429", resp.StatusCode, body)
	}

	// The requests are in the node's request metrics, under Consul's routes.
	_, metrics := get(t, agenttest.URL(a)+"/metrics", "Authorization", "Bearer s3cret")
	for _, want := range []string{
		`roster_http_requests_total{code="401",method="GET",route="/v1/catalog/services"}`,
		`roster_http_requests_total{code="429",method="GET",route="/v1/health/service/{name}"}`,
		`roster_blocking_queries_refused_total 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestConsul_writesWithWriteACLs checks that with ACLs on for writes only,
// a write without a token gets the read-only 405, not 401: the door
// changes nothing, so it needs no write token to say so.
func TestConsul_writesWithWriteACLs(t *testing.T) {
	_, base := start(t, func(c *agent.Config) { c.ACL.Tokens, c.GossipAddr = []string{"s3cret"}, "" })
	if resp, body := do(t, http.MethodPut, base+"/v1/kv/x"); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("PUT /v1/kv/x without a token: %d %q; want 405", resp.StatusCode, body)
	}
	if resp, _ := get(t, base+"/v1/catalog/services"); resp.StatusCode != 200 {
		t.Errorf("read without a token (reads need none): %d; want 200", resp.StatusCode)
	}
}
