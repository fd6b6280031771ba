package agent_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// console sends a request to /nacos/v1/<path> with form-encoded params.
func console(t *testing.T, base, method, path string, v url.Values) (int, string) {
	t.Helper()
	u := base + "/nacos/v1/" + path
	if method == http.MethodGet || method == http.MethodDelete {
		return do(t, method, u+"?"+v.Encode(), "", "")
	}
	return do(t, method, u, form, v.Encode())
}

// want checks a status and that the body contains each of parts.
func want(t *testing.T, what string, code int, body string, wantCode int, parts ...string) {
	t.Helper()
	if code != wantCode {
		t.Errorf("%s: got %d %s, want %d", what, code, body, wantCode)
		return
	}
	for _, p := range parts {
		if !strings.Contains(body, p) {
			t.Errorf("%s: body %s lacks %s", what, body, p)
		}
	}
}

// TestNacosConsole_namespaces checks create, list with counts, show,
// update and delete of namespaces, and that bad input is a 400 naming the
// field.
func TestNacosConsole_namespaces(t *testing.T) {
	_, base := startNode(t)
	const ns = "console/namespaces"
	c, b := console(t, base, http.MethodPost, ns, vals("customNamespaceId", "team-a", "namespaceName", "Team A", "namespaceDesc", "first"))
	want(t, "create", c, b, 200, "true")
	c, b = console(t, base, http.MethodPost, ns, vals("customNamespaceId", "team-a", "namespaceName", "again"))
	want(t, "create twice", c, b, 400, "customNamespaceId", "already exists")
	c, b = console(t, base, http.MethodPost, ns, vals("customNamespaceId", "bad id!", "namespaceName", "x"))
	want(t, "bad id", c, b, 400, "customNamespaceId")
	c, b = console(t, base, http.MethodPost, ns, vals("customNamespaceId", "team-b"))
	want(t, "no name", c, b, 400, "namespaceName")
	nacos(t, base, http.MethodPost, "instance", vals("namespaceId", "team-a", "serviceName", "s1", "ip", "10.0.0.1", "port", "80"))
	nacos(t, base, http.MethodPost, "instance", vals("namespaceId", "team-a", "serviceName", "s1", "ip", "10.0.0.2", "port", "80"))
	nacos(t, base, http.MethodPost, "instance", vals("namespaceId", "implicit", "serviceName", "s2", "ip", "10.0.0.3", "port", "80"))
	c, b = console(t, base, http.MethodGet, ns, nil)
	want(t, "list", c, b, 200, `{"namespace":"","namespaceShowName":"public","quota":200,"configCount":0,"type":0,"serviceCount":0,"instanceCount":0}`,
		`{"namespace":"team-a","namespaceShowName":"Team A","quota":200,"configCount":0,"type":2,"serviceCount":1,"instanceCount":2}`,
		`{"namespace":"implicit","namespaceShowName":"implicit","quota":200,"configCount":0,"type":2,"serviceCount":1,"instanceCount":1}`)
	c, b = console(t, base, http.MethodPut, ns, vals("namespace", "team-a", "namespaceShowName", "Team A2", "namespaceDesc", "second"))
	want(t, "update", c, b, 200, "true")
	c, b = console(t, base, http.MethodGet, ns, vals("show", "all", "namespaceId", "team-a"))
	want(t, "show", c, b, 200, `"namespaceShowName":"Team A2"`, `"namespaceDesc":"second"`)
	c, b = console(t, base, http.MethodGet, ns, vals("checkNamespaceIdExist", "true", "customNamespaceId", "team-a"))
	want(t, "exists", c, b, 200, "true")
	c, b = console(t, base, http.MethodPut, ns, vals("namespace", "nope", "namespaceShowName", "x"))
	want(t, "update missing", c, b, 404, "nope")
	c, b = console(t, base, http.MethodDelete, ns, vals("namespaceId", "team-a"))
	want(t, "delete", c, b, 200, "true")
	c, b = console(t, base, http.MethodGet, ns, vals("checkNamespaceIdExist", "true", "customNamespaceId", "team-b"))
	want(t, "not exists", c, b, 200, "false")
	// Deleting the record leaves what is registered in it, as in Nacos.
	c, b = console(t, base, http.MethodGet, ns, nil)
	want(t, "list after delete", c, b, 200, `"namespace":"team-a","namespaceShowName":"team-a"`)
}

// TestNacosOperator_switchesAndViews checks the settable switches take
// effect, the others are refused with the reason, and the member and
// metrics views hold real figures.
func TestNacosOperator_switchesAndViews(t *testing.T) {
	_, base := startNode(t)
	c, b := nacos(t, base, http.MethodPut, "operator/switches", vals("entry", "defaultCacheMillis", "value", "4000"))
	want(t, "set cacheMillis", c, b, 200, "ok")
	if l := list(t, base, vals("serviceName", "sw")); l.CacheMillis != 4000 {
		t.Errorf("cacheMillis after the switch: %d, want 4000", l.CacheMillis)
	}
	c, b = nacos(t, base, http.MethodPut, "operator/switches", vals("entry", "defaultInstanceEphemeral", "value", "false"))
	want(t, "set ephemeral default", c, b, 200, "ok")
	nacos(t, base, http.MethodPost, "instance", vals("serviceName", "sw", "ip", "10.0.0.1", "port", "80"))
	if l := list(t, base, vals("serviceName", "sw")); len(l.Hosts) != 1 || l.Hosts[0].Ephemeral {
		t.Errorf("instance registered without ephemeral after defaultInstanceEphemeral=false: %+v", l.Hosts)
	}
	c, b = nacos(t, base, http.MethodGet, "operator/switches", nil)
	want(t, "get", c, b, 200, `"defaultCacheMillis":4000`, `"defaultInstanceEphemeral":false`, `"pushEnabled":true`)
	for _, bad := range [][]string{
		{"defaultCacheMillis", "999", "value"}, {"defaultPushCacheMillis", "5000", "value"}, {"pushEnabled", "maybe", "value"},
		{"distroThreshold", "0.5", "not applicable"}, {"healthCheckEnabled", "false", "not applicable"}, {"nope", "1", "unknown switch"},
	} {
		c, b = nacos(t, base, http.MethodPut, "operator/switches", vals("entry", bad[0], "value", bad[1]))
		want(t, "switch "+bad[0], c, b, 400, bad[2])
	}
	c, b = nacos(t, base, http.MethodGet, "operator/servers", vals("healthy", "true"))
	want(t, "servers", c, b, 200, `"state":"UP"`, `"self":true`)
	c, b = console(t, base, http.MethodGet, "core/cluster/nodes", vals("keyword", "127.0.0.1"))
	want(t, "nodes", c, b, 200, `"code":200`, `"address":"127.0.0.1:`)
	c, b = console(t, base, http.MethodGet, "core/cluster/nodes", vals("keyword", "10.255."))
	want(t, "nodes filtered", c, b, 200, `"data":[]`)
	c, b = nacos(t, base, http.MethodGet, "operator/metrics", nil)
	var m struct{ CPU, Load, Mem float64 }
	mustJSON(t, b, &m)
	if c != 200 || m.Mem <= 0 || m.Mem >= 1 || m.CPU < 0 || m.CPU > 1 || m.Load < 0 {
		t.Errorf("metrics: %d %s, want mem in (0,1), cpu in [0,1]", c, b)
	}
}

// TestNacosInstance_batchAndUpdate checks instance/statuses, metadata
// batch update and delete, PUT (replaces) versus PATCH (changes what is
// sent), DELETE service with instances, and the catalog's 404s.
func TestNacosInstance_batchAndUpdate(t *testing.T) {
	_, base := startNode(t)
	reg := func(ip string, md string) {
		nacos(t, base, http.MethodPost, "instance", vals("serviceName", "b", "ip", ip, "port", "80", "metadata", md, "weight", "3"))
	}
	reg("10.0.0.1", `{"a":"1"}`)
	reg("10.0.0.2", `{"a":"2","keep":"y"}`)
	c, b := nacos(t, base, http.MethodGet, "instance/statuses", vals("key", "DEFAULT_GROUP@@b"))
	want(t, "statuses", c, b, 200, `"10.0.0.1:80_true"`, `"10.0.0.2:80_true"`)
	c, b = nacos(t, base, http.MethodGet, "instance/statuses", vals("key", "public##DEFAULT_GROUP@@none"))
	want(t, "statuses missing", c, b, 404)
	c, b = nacos(t, base, http.MethodPut, "instance/metadata/batch", vals("serviceName", "b", "instances", `[{"ip":"10.0.0.1","port":80}]`, "metadata", `{"a":"9","n":"new"}`))
	want(t, "batch update", c, b, 200, `{"updated":["10.0.0.1:80:unknown:DEFAULT:ephemeral"]}`)
	c, b = nacos(t, base, http.MethodDelete, "instance/metadata/batch", vals("serviceName", "b", "consistencyType", "ephemeral", "metadata", `{"a":""}`))
	want(t, "batch delete", c, b, 200, "10.0.0.1:80:unknown:DEFAULT:ephemeral", "10.0.0.2:80:unknown:DEFAULT:ephemeral")
	l := list(t, base, vals("serviceName", "b"))
	if len(l.Hosts) != 2 || l.Hosts[0].Metadata["n"] != "new" || l.Hosts[0].Metadata["a"] != "" || l.Hosts[1].Metadata["keep"] != "y" || len(l.Hosts[1].Metadata) != 1 {
		t.Errorf("metadata after batch: %+v", l.Hosts)
	}
	c, b = nacos(t, base, http.MethodPut, "instance/metadata/batch", vals("serviceName", "b", "consistencyType", "both", "metadata", `{"a":"1"}`))
	want(t, "batch bad type", c, b, 400, "consistencyType")
	c, b = nacos(t, base, http.MethodPatch, "instance", vals("serviceName", "b", "ip", "10.0.0.2", "port", "80", "weight", "5"))
	want(t, "patch", c, b, 200, "ok")
	c, b = nacos(t, base, http.MethodPut, "instance", vals("serviceName", "b", "ip", "10.0.0.1", "port", "80", "enabled", "true"))
	want(t, "put", c, b, 200, "ok")
	l = list(t, base, vals("serviceName", "b"))
	if len(l.Hosts) != 2 || l.Hosts[0].Weight != 1 || len(l.Hosts[0].Metadata) != 0 || l.Hosts[1].Weight != 5 || l.Hosts[1].Metadata["keep"] != "y" {
		t.Errorf("PUT replaces (weight 1, no metadata), PATCH keeps the rest: %+v", l.Hosts)
	}
	c, b = nacos(t, base, http.MethodDelete, "service", vals("serviceName", "b"))
	want(t, "delete service with instances", c, b, 400, "serviceName", "deregister them first")
	c, b = nacos(t, base, http.MethodGet, "catalog/instances", vals("serviceName", "b", "clusterName", "nope", "pageNo", "1", "pageSize", "10"))
	want(t, "catalog missing cluster", c, b, 404, "nope")
	c, b = nacos(t, base, http.MethodGet, "catalog/services", vals("pageNo", "1", "pageSize", "10", "instance", "10.0.0.2:80"))
	want(t, "catalog by instance", c, b, 200, `"count":1`, `"ipCount":2`)
	c, b = nacos(t, base, http.MethodGet, "service/names", vals("expr", "^DEFAULT_GROUP@@b$"))
	want(t, "names", c, b, 200, `{"count":1,"services":{"public":["b"]}}`)
	c, b = nacos(t, base, http.MethodGet, "service/names", vals("expr", "("))
	want(t, "names bad expr", c, b, 400, "expr")
	c, b = nacos(t, base, http.MethodPost, "service", vals("serviceName", "sel", "selector", `{"type":"label","expression":"CONSUMER.label.a = PROVIDER.label.a"}`))
	want(t, "label selector on a service", c, b, 400, "selector", "CMDB")
}
