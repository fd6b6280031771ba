package agent_test

import (
	"bufio"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/internal/await"
)

// TestHealth_api covers the health endpoints: PUT cluster's validation,
// GET service showing the checker, and `healthy` honoured only where Nacos
// honours it (a persistent instance whose cluster's checker is NONE),
// with a 400 that says why everywhere else.
func TestHealth_api(t *testing.T) {
	_, base := startNode(t)
	reg := func(ip, ephemeral string) {
		t.Helper()
		if code, body := nacos(t, base, http.MethodPost, "instance", vals("serviceName", "h", "ip", ip, "port", "9", "ephemeral", ephemeral)); code != 200 {
			t.Fatalf("register: %d %s", code, body)
		}
	}
	reg("10.1.0.1", "true")
	reg("10.1.0.2", "false")
	expect := func(method, path string, v map[string]string, code int, want string) {
		t.Helper()
		vv := vals()
		for k, x := range v {
			vv.Set(k, x)
		}
		got, body := nacos(t, base, method, path, vv)
		if got != code || !strings.Contains(body, want) {
			t.Fatalf("%s %s %v: %d %q, want %d containing %q", method, path, v, got, body, code, want)
		}
	}
	eph := map[string]string{"serviceName": "h", "ip": "10.1.0.1", "port": "9", "healthy": "false"}
	per := map[string]string{"serviceName": "h", "ip": "10.1.0.2", "port": "9", "healthy": "false"}
	expect(http.MethodPatch, "instance", eph, 400, "follows its heartbeats")
	expect(http.MethodPut, "health/instance", eph, 400, "follows its heartbeats")
	expect(http.MethodPut, "health/instance", per, 400, "health check is still working (TCP)")
	expect(http.MethodPatch, "instance", per, 400, "health check is still working (TCP)")
	expect(http.MethodPut, "health/instance", map[string]string{"serviceName": "h", "ip": "10.1.0.2", "port": "9"}, 400, "healthy")

	cl := func(kv ...string) map[string]string {
		m := map[string]string{"serviceName": "h", "clusterName": "DEFAULT", "checkPort": "80", "useInstancePort4Check": "true",
			"healthChecker": `{"type":"NONE"}`}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(m, kv[i])
			} else {
				m[kv[i]] = kv[i+1]
			}
		}
		return m
	}
	expect(http.MethodPut, "cluster", cl("checkPort", ""), 400, "checkPort")
	expect(http.MethodPut, "cluster", cl("useInstancePort4Check", ""), 400, "useInstancePort4Check")
	expect(http.MethodPut, "cluster", cl("healthChecker", ""), 400, "healthChecker")
	expect(http.MethodPut, "cluster", cl("healthChecker", `{"type":"FOO"}`), 400, "healthChecker.type")
	expect(http.MethodPut, "cluster", cl("healthChecker", `{"type":"HTTP","path":"x y"}`), 400, "healthChecker.path")
	expect(http.MethodPut, "cluster", cl("healthChecker", `{"type":"TCP","bogus":1}`), 400, "bogus")
	expect(http.MethodPut, "cluster", cl("checkPort", "70000"), 400, "checkPort")
	expect(http.MethodPut, "cluster", cl("clusterName", "a@@b"), 400, "clusterName")
	expect(http.MethodPut, "cluster", cl("clusterName", ""), 400, "clusterName")
	expect(http.MethodPut, "cluster", cl("serviceName", "nosuch"), 404, "not found")
	expect(http.MethodPut, "cluster", cl("clusterName", "c2", "healthChecker", `{"type":"HTTP","path":"/ping","headers":"A:b","expectedResponseCode":204}`), 200, "ok")
	expect(http.MethodGet, "service", map[string]string{"serviceName": "h"}, 200, `"healthChecker":{"expectedResponseCode":204,"headers":"A:b","path":"/ping","type":"HTTP"}`)
	expect(http.MethodPut, "cluster", cl(), 200, "ok")
	expect(http.MethodGet, "service", map[string]string{"serviceName": "h"}, 200, `"healthChecker":{"type":"NONE"}`)

	expect(http.MethodPut, "health/instance", per, 200, "ok")
	expect(http.MethodGet, "instance", map[string]string{"serviceName": "h", "ip": "10.1.0.2", "port": "9"}, 200, `"healthy":false`)
	per["healthy"] = "true"
	expect(http.MethodPatch, "instance", per, 200, "ok")
	expect(http.MethodGet, "instance", map[string]string{"serviceName": "h", "ip": "10.1.0.2", "port": "9"}, 200, `"healthy":true`)
	expect(http.MethodGet, "health/checkers", nil, 200, `"HTTP"`)
}

// TestHealth_ownerChecksAndHandsOver registers a persistent instance on a
// port the test opens and closes, in a three-node cluster: exactly one
// node checks it; it turns unhealthy on every node within interval ×
// failures + 1 s of the port closing and healthy again after it reopens;
// with the checking owner killed, another node takes the checks over.
func TestHealth_ownerChecksAndHandsOver(t *testing.T) {
	fast := func(c *agent.Config) {
		c.HealthCheck.Interval, c.HealthCheck.Timeout, c.HealthCheck.Rescan = 100*time.Millisecond, 80*time.Millisecond, 50*time.Millisecond
	}
	c := agenttest.NewCluster(t, 3, fast)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_, port, _ := net.SplitHostPort(addr)
	base := agenttest.URL(c.Agent("n1"))
	if code, body := nacos(t, base, http.MethodPost, "instance", vals("serviceName", "checked", "ip", "127.0.0.1", "port", port, "ephemeral", "false")); code != 200 {
		t.Fatalf("register: %d %s", code, body)
	}
	checker := func() string {
		var who []string
		for _, a := range c.Agents() {
			if metric(t, agenttest.URL(a), "roster_health_check_targets") == 1 {
				who = append(who, a.Node().Name())
			}
		}
		if len(who) != 1 {
			return ""
		}
		return who[0]
	}
	await.True(t, 3*time.Second, "exactly one node checks the instance", func() bool { return checker() != "" })
	owner := checker()
	if m, _ := c.Agent(owner).Node().Owner(keyOf("checked")); m.Name != owner {
		t.Fatalf("%s checks, but %s owns the service", owner, m.Name)
	}
	// interval × failures (+20% jitter) + 1 s
	bound := 100*time.Millisecond*3*6/5 + time.Second
	healthyEverywhere := func(want bool) func() bool {
		return func() bool {
			for _, a := range c.Agents() {
				_, body := nacos(t, agenttest.URL(a), http.MethodGet, "instance", vals("serviceName", "checked", "ip", "127.0.0.1", "port", port))
				if !strings.Contains(body, `"healthy":`+strconv.FormatBool(want)) {
					return false
				}
			}
			return true
		}
	}
	ln.Close()
	t.Logf("unhealthy everywhere %v after the port closed", await.True(t, bound, "unhealthy everywhere", healthyEverywhere(false)))
	ln = relisten(t, addr)
	t.Logf("healthy everywhere %v after it reopened", await.True(t, bound, "healthy everywhere", healthyEverywhere(true)))

	c.Kill(owner)
	killed := time.Now()
	await.True(t, 5*time.Second, "another node checks", func() bool { n := checker(); return n != "" && n != owner })
	t.Logf("%s checks %v after %s was killed", checker(), time.Since(killed).Round(time.Millisecond), owner)
	ln.Close()
	await.True(t, bound, "unhealthy everywhere, checked by the new owner", healthyEverywhere(false))
}

// relisten listens on addr again, or skips when another process took it.
func relisten(t *testing.T, addr string) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port %s taken meanwhile: %v", addr, err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// metric reads an unlabelled series from base's /metrics, -1 if absent.
func metric(t testing.TB, base, name string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return -1
}

// TestHealth_nativeAPI sets a cluster's checker and an instance's health
// through the native API, with the same rules as the Nacos one.
func TestHealth_nativeAPI(t *testing.T) {
	_, base := startNode(t)
	if code, body := do(t, http.MethodPost, base+"/v1/instance", "application/json",
		`{"service":"nh","ip":"10.2.0.1","port":9,"ephemeral":false}`); code != 200 {
		t.Fatalf("register: %d %s", code, body)
	}
	inst := base + "/v1/instance/health?service=nh&ip=10.2.0.1&port=9"
	if code, body := do(t, http.MethodPut, inst, "application/json", `{"healthy":false}`); code != 400 || !strings.Contains(body, "still working (TCP)") {
		t.Fatalf("health of a checked instance: %d %s", code, body)
	}
	cl := base + "/v1/service/cluster?service=nh&cluster=DEFAULT"
	for body, want := range map[string]string{
		`{"healthChecker":{"type":"SMTP"}}`:                              "healthChecker.type",
		`{"healthChecker":{"type":"TCP"},"useInstancePort4Check":false}`: "checkPort",
		`{"healthChecker":{"type":"HTTP","path":"nope"},"checkPort":80}`: "healthChecker.path",
	} {
		if code, got := do(t, http.MethodPut, cl, "application/json", body); code != 400 || !strings.Contains(got, want) {
			t.Fatalf("PUT cluster %s: %d %s, want 400 naming %s", body, code, got, want)
		}
	}
	if code, body := do(t, http.MethodPut, cl, "application/json", `{"healthChecker":{"type":"NONE"},"useInstancePort4Check":true}`); code != 200 {
		t.Fatalf("PUT cluster NONE: %d %s", code, body)
	}
	if code, body := do(t, http.MethodPut, inst, "application/json", `{"healthy":false}`); code != 200 {
		t.Fatalf("health with NONE: %d %s", code, body)
	}
	if _, body := do(t, http.MethodGet, base+"/v1/instance?service=nh&ip=10.2.0.1&port=9", "", ""); !strings.Contains(body, `"healthy":false`) {
		t.Fatalf("after setting health: %s", body)
	}
	if code, body := do(t, http.MethodPut, inst, "application/json", `{}`); code != 400 || !strings.Contains(body, "healthy") {
		t.Fatalf("health without healthy: %d %s", code, body)
	}
}
