package agent_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func vals(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

func TestNacos_registerListGetDeregister(t *testing.T) {
	_, base := startNode(t)
	code, body := nacos(t, base, http.MethodPost, "instance", vals(
		"serviceName", "orders", "ip", "10.0.0.1", "port", "8080", "weight", "2.5",
		"clusterName", "c1", "metadata", `{"zone":"a","n":1}`, "enable", "true", "healthy", "true", "ephemeral", "true"))
	if code != 200 || body != "ok" {
		t.Fatalf("register: got %d %q, want 200 ok", code, body)
	}
	l := list(t, base, vals("serviceName", "DEFAULT_GROUP@@orders", "clusters", "c1"))
	if l.Name != "DEFAULT_GROUP@@orders" || l.Clusters != "c1" || l.CacheMillis <= 0 || l.Checksum == "" || l.LastRefTime == 0 {
		t.Fatalf("list header fields: got %+v", l)
	}
	if len(l.Hosts) != 1 {
		t.Fatalf("hosts: got %d, want 1", len(l.Hosts))
	}
	h := l.Hosts[0]
	want := "10.0.0.1#8080#c1#DEFAULT_GROUP@@orders"
	if h.IP != "10.0.0.1" || h.Port != 8080 || h.Weight != 2.5 || h.ClusterName != "c1" || !h.Healthy || !h.Valid ||
		!h.Enabled || !h.Ephemeral || h.InstanceID != want || h.ServiceName != "DEFAULT_GROUP@@orders" ||
		h.Metadata["zone"] != "a" || h.Metadata["n"] != "1" {
		t.Fatalf("host: got %+v", h)
	}
	if l := list(t, base, vals("serviceName", "orders", "clusters", "other")); len(l.Hosts) != 0 {
		t.Fatalf("cluster filter: got %d hosts, want 0", len(l.Hosts))
	}
	code, body = nacos(t, base, http.MethodGet, "instance", vals("serviceName", "orders", "ip", "10.0.0.1", "port", "8080", "cluster", "c1"))
	if code != 200 || !strings.Contains(body, `"healthy":true`) || !strings.Contains(body, want) {
		t.Fatalf("get: got %d %s", code, body)
	}
	code, _ = nacos(t, base, http.MethodGet, "instance", vals("serviceName", "orders", "ip", "10.0.0.1", "port", "8080"))
	if code != http.StatusNotFound {
		t.Fatalf("get in the wrong cluster: got %d, want 404", code)
	}
	code, body = nacos(t, base, http.MethodDelete, "instance", vals("serviceName", "orders", "ip", "10.0.0.1", "port", "8080", "clusterName", "c1"))
	if code != 200 || body != "ok" {
		t.Fatalf("deregister: got %d %q", code, body)
	}
	if l := list(t, base, vals("serviceName", "orders")); len(l.Hosts) != 0 {
		t.Fatalf("after deregister: got %d hosts, want 0", len(l.Hosts))
	}
	code, _ = nacos(t, base, http.MethodDelete, "instance", vals("serviceName", "orders", "ip", "10.0.0.1", "port", "8080", "clusterName", "c1"))
	if code != 200 {
		t.Fatalf("second deregister: got %d, want 200 (idempotent)", code)
	}
}

func TestNacos_groupsNamespacesAndDisabled(t *testing.T) {
	_, base := startNode(t)
	reg := func(kv ...string) {
		t.Helper()
		if code, body := nacos(t, base, http.MethodPost, "instance", vals(kv...)); code != 200 {
			t.Fatalf("register %v: got %d %s", kv, code, body)
		}
	}
	reg("serviceName", "g1@@svc", "ip", "10.0.0.1", "port", "1")
	reg("serviceName", "svc", "groupName", "g1", "ip", "10.0.0.2", "port", "1")
	reg("serviceName", "svc", "ip", "10.0.0.3", "port", "1", "namespaceId", "dev")
	reg("serviceName", "svc", "ip", "10.0.0.4", "port", "1", "namespaceId", "dev", "enabled", "false")
	if got := len(list(t, base, vals("serviceName", "svc", "groupName", "g1")).Hosts); got != 2 {
		t.Fatalf("group g1: got %d hosts, want 2", got)
	}
	if got := len(list(t, base, vals("serviceName", "svc")).Hosts); got != 0 {
		t.Fatalf("public DEFAULT_GROUP: got %d hosts, want 0", got)
	}
	l := list(t, base, vals("serviceName", "svc", "namespaceId", "dev"))
	if len(l.Hosts) != 1 || l.Hosts[0].IP != "10.0.0.3" {
		t.Fatalf("dev namespace lists disabled instances or misses enabled ones: got %+v", l.Hosts)
	}
	code, body := nacos(t, base, http.MethodGet, "service/list", vals("pageNo", "1", "pageSize", "10", "groupName", "g1"))
	if code != 200 || body != `{"count":1,"doms":["svc"]}` {
		t.Fatalf("service/list: got %d %s", code, body)
	}
}

func TestNacos_updateAndPatch(t *testing.T) {
	_, base := startNode(t)
	nacos(t, base, http.MethodPost, "instance", vals("serviceName", "svc", "ip", "10.0.0.1", "port", "80", "metadata", "a=1,b=2"))
	code, body := nacos(t, base, http.MethodPut, "instance", vals("serviceName", "svc", "ip", "10.0.0.1", "port", "80", "weight", "7", "metadata", `{"c":"3"}`))
	if code != 200 {
		t.Fatalf("put: got %d %s", code, body)
	}
	h := list(t, base, vals("serviceName", "svc")).Hosts[0]
	if h.Weight != 7 || len(h.Metadata) != 1 || h.Metadata["c"] != "3" || !h.Enabled {
		t.Fatalf("after put: got %+v", h)
	}
	code, _ = nacos(t, base, http.MethodPatch, "instance", vals("serviceName", "svc", "ip", "10.0.0.1", "port", "80", "enabled", "false"))
	if code != 200 {
		t.Fatalf("patch: got %d", code)
	}
	if got := len(list(t, base, vals("serviceName", "svc")).Hosts); got != 0 {
		t.Fatalf("disabled instance listed: got %d hosts", got)
	}
	code, body = nacos(t, base, http.MethodPut, "instance", vals("serviceName", "svc", "ip", "10.0.0.9", "port", "80", "weight", "7"))
	if code != http.StatusBadRequest || !strings.Contains(body, "not found") {
		t.Fatalf("put on a missing instance: got %d %s, want 400 naming it", code, body)
	}
}

func TestNacos_beat(t *testing.T) {
	_, base := startNode(t)
	// A raw, unescaped body as nacos-sdk-go sends it, with & and = inside
	// the JSON; the instance does not exist, so the beat registers it.
	raw := `namespaceId=&serviceName=DEFAULT_GROUP@@svc&beat={"ip":"10.0.0.5","port":81,"weight":1,"serviceName":"DEFAULT_GROUP@@svc","cluster":"DEFAULT","metadata":{"q":"a&b=c","preserved.heart.beat.interval":"700"},"scheduled":false,"future":1}`
	code, body := do(t, http.MethodPut, base+"/nacos/v1/ns/instance/beat", form, raw)
	if code != 200 || body != `{"clientBeatInterval":700,"code":10200,"lightBeatEnabled":true}` {
		t.Fatalf("beat re-registering: got %d %s", code, body)
	}
	h := list(t, base, vals("serviceName", "svc")).Hosts
	if len(h) != 1 || h[0].Metadata["q"] != "a&b=c" || h[0].Port != 81 {
		t.Fatalf("re-registered instance: got %+v", h)
	}
	code, body = nacos(t, base, http.MethodPut, "instance/beat", vals("serviceName", "svc", "ip", "10.0.0.5", "port", "81"))
	if code != 200 || !strings.Contains(body, `"code":10200`) {
		t.Fatalf("light beat: got %d %s", code, body)
	}
	code, body = nacos(t, base, http.MethodPut, "instance/beat", vals("serviceName", "svc", "ip", "10.0.0.6", "port", "81"))
	if code != 200 || !strings.Contains(body, `"code":20404`) {
		t.Fatalf("beat for an unknown instance without body: got %d %s, want code 20404", code, body)
	}
}

func TestNacos_services(t *testing.T) {
	_, base := startNode(t)
	steps := []struct {
		method, path string
		v            url.Values
		code         int
		contains     string
	}{
		{"POST", "service", vals("serviceName", "s1", "protectThreshold", "0.5", "metadata", "k=v"), 200, "ok"},
		{"POST", "service", vals("serviceName", "s1"), 400, "already exists"},
		{"GET", "service", vals("serviceName", "s1"), 200, `"protectThreshold":0.5`},
		{"PUT", "service", vals("serviceName", "s1", "protectThreshold", "0.2"), 200, "ok"},
		{"GET", "service", vals("serviceName", "s1"), 200, `"protectThreshold":0.2`},
		{"GET", "service", vals("serviceName", "s1"), 200, `"metadata":{"k":"v"}`},
		{"PUT", "service", vals("serviceName", "nope", "protectThreshold", "0.2"), 400, "does not exist"},
		{"POST", "instance", vals("serviceName", "s1", "ip", "10.0.0.1", "port", "1"), 200, "ok"},
		{"DELETE", "service", vals("serviceName", "s1"), 400, "has instances"},
		{"DELETE", "instance", vals("serviceName", "s1", "ip", "10.0.0.1", "port", "1"), 200, "ok"},
		{"GET", "service/list", vals("pageNo", "1", "pageSize", "10"), 200, `{"count":1,"doms":["s1"]}`},
		{"DELETE", "service", vals("serviceName", "s1"), 200, "ok"},
		{"GET", "service", vals("serviceName", "s1"), 404, "not found"},
		{"DELETE", "service", vals("serviceName", "s1"), 400, "does not exist"},
		{"GET", "service/list", vals("pageNo", "1", "pageSize", "10"), 200, `{"count":0,"doms":[]}`},
		{"GET", "operator/metrics", vals(), 200, `"status":"UP"`},
	}
	for i, s := range steps {
		code, body := nacos(t, base, s.method, s.path, s.v)
		if code != s.code || !strings.Contains(body, s.contains) {
			t.Fatalf("step %d %s %s %v: got %d %s, want %d containing %q", i, s.method, s.path, s.v, code, body, s.code, s.contains)
		}
	}
}

func TestNacos_serviceListPaging(t *testing.T) {
	_, base := startNode(t)
	for _, s := range []string{"a", "b", "c", "d", "e"} {
		nacos(t, base, http.MethodPost, "service", vals("serviceName", s))
	}
	tests := []struct{ pageNo, pageSize, want string }{
		{"1", "2", `{"count":5,"doms":["a","b"]}`},
		{"3", "2", `{"count":5,"doms":["e"]}`},
		{"4", "2", `{"count":5,"doms":[]}`},
	}
	for _, tt := range tests {
		t.Run(tt.pageNo+"x"+tt.pageSize, func(t *testing.T) {
			_, body := nacos(t, base, http.MethodGet, "service/list", vals("pageNo", tt.pageNo, "pageSize", tt.pageSize))
			if body != tt.want {
				t.Fatalf("got %s, want %s", body, tt.want)
			}
		})
	}
}
