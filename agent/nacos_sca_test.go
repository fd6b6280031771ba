package agent_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// scaStep is one HTTP call of a Spring Cloud Alibaba application, as its
// Nacos 1.4 Java client sends it, with what the answer must hold.
type scaStep struct {
	name   string
	method string
	path   string
	params []string // key, value pairs
	code   int
	check  func(t *testing.T, body string)
}

// TestNacosSCA_sequence replays what a Spring Cloud Alibaba service does
// against its registry: register with the metadata it sends, beat, list
// every service with pageSize=2147483647 (NacosServiceDiscovery.getServices),
// list instances with healthyOnly=false, deregister. Before roster
// clamped pageSize, the service listing answered 400 and Spring Cloud
// Alibaba silently saw no services.
func TestNacosSCA_sequence(t *testing.T) {
	_, base := startNode(t)
	const svc = "DEFAULT_GROUP@@sca-orders"
	md := `{"preserved.register.source":"SPRING_CLOUD","management.port":"8081"}`
	beat := `{"cluster":"DEFAULT","ip":"10.1.2.3","metadata":{"preserved.register.source":"SPRING_CLOUD"},"port":8080,"scheduled":false,"serviceName":"DEFAULT_GROUP@@sca-orders","stopped":false,"weight":1.0}`
	hostsOf := func(t *testing.T, body string) []map[string]any {
		var l struct{ Hosts []map[string]any }
		if err := json.Unmarshal([]byte(body), &l); err != nil {
			t.Fatalf("list %s: %v", body, err)
		}
		return l.Hosts
	}
	steps := []scaStep{
		{"register", http.MethodPost, "instance", []string{"namespaceId", "public", "serviceName", svc, "groupName", "DEFAULT_GROUP",
			"clusterName", "DEFAULT", "ip", "10.1.2.3", "port", "8080", "weight", "1.0", "enable", "true", "healthy", "true",
			"ephemeral", "true", "metadata", md, "app", "unknown"}, 200, func(t *testing.T, body string) {
			if body != "ok" {
				t.Errorf("body %q, want ok", body)
			}
		}},
		{"second service", http.MethodPost, "instance", []string{"serviceName", "DEFAULT_GROUP@@sca-payments", "groupName", "DEFAULT_GROUP",
			"ip", "10.1.2.4", "port", "8080", "metadata", md}, 200, nil},
		{"beat", http.MethodPut, "instance/beat", []string{"namespaceId", "public", "serviceName", svc, "clusterName", "DEFAULT",
			"ip", "10.1.2.3", "port", "8080", "beat", beat}, 200, func(t *testing.T, body string) {
			if !strings.Contains(body, `"code":10200`) {
				t.Errorf("beat answer %s, want code 10200", body)
			}
		}},
		{"getServices", http.MethodGet, "service/list", []string{"pageNo", "1", "pageSize", "2147483647", "groupName", "DEFAULT_GROUP",
			"namespaceId", "public"}, 200, func(t *testing.T, body string) {
			var l struct {
				Count int
				Doms  []string
			}
			mustJSON(t, body, &l)
			if l.Count != 2 || !slices.Equal(l.Doms, []string{"sca-orders", "sca-payments"}) {
				t.Errorf("service/list: %s, want both services", body)
			}
		}},
		{"getInstances", http.MethodGet, "instance/list", []string{"namespaceId", "public", "serviceName", svc, "clusters", "",
			"udpPort", "0", "clientIP", "10.9.9.9", "healthyOnly", "false"}, 200, func(t *testing.T, body string) {
			h := hostsOf(t, body)
			if len(h) != 1 || h[0]["ip"] != "10.1.2.3" || h[0]["metadata"].(map[string]any)["management.port"] != "8081" {
				t.Errorf("instance/list: %s", body)
			}
		}},
		{"deregister", http.MethodDelete, "instance", []string{"namespaceId", "public", "serviceName", svc, "clusterName", "DEFAULT",
			"ip", "10.1.2.3", "port", "8080", "ephemeral", "true"}, 200, nil},
		{"gone", http.MethodGet, "instance/list", []string{"serviceName", svc, "healthyOnly", "false"}, 200, func(t *testing.T, body string) {
			if h := hostsOf(t, body); len(h) != 0 {
				t.Errorf("after deregister: %s", body)
			}
		}},
	}
	for _, st := range steps {
		code, body := nacos(t, base, st.method, st.path, vals(st.params...))
		if code != st.code {
			t.Fatalf("%s: %s %s got %d %s, want %d", st.name, st.method, st.path, code, body, st.code)
		}
		if st.check != nil {
			t.Run(st.name, func(t *testing.T) { st.check(t, body) })
		}
	}
}

// TestNacosServiceList_forms checks service/list's page bounds (clamped,
// never refused), groupName forms and the label selector: applied as
// Nacos applies it, or refused with a 400 naming selector.
func TestNacosServiceList_forms(t *testing.T) {
	_, base := startNode(t)
	reg := func(svc, group, md string) {
		if code, body := nacos(t, base, http.MethodPost, "instance", vals("serviceName", svc, "groupName", group, "ip", "10.0.0.1", "port", "80", "metadata", md)); code != 200 {
			t.Fatalf("register %s: %d %s", svc, code, body)
		}
	}
	reg("a", "DEFAULT_GROUP", `{"zone":"east"}`)
	reg("b", "DEFAULT_GROUP", `{"zone":"west"}`)
	reg("c", "G2", `{"zone":"east"}`)
	if code, body := nacos(t, base, http.MethodPost, "service", vals("serviceName", "d", "metadata", `{"tier":"gold"}`)); code != 200 {
		t.Fatalf("create d: %d %s", code, body)
	}
	type answer struct {
		Count int      `json:"count"`
		Doms  []string `json:"doms"`
	}
	for _, tc := range []struct {
		name   string
		params []string
		want   answer
	}{
		{"huge page", []string{"pageNo", "1", "pageSize", "2147483647"}, answer{3, []string{"a", "b", "d"}}},
		{"huger than int64", []string{"pageNo", "1", "pageSize", "99999999999999999999999"}, answer{3, []string{"a", "b", "d"}}},
		{"page two", []string{"pageNo", "2", "pageSize", "2"}, answer{3, []string{"d"}}},
		{"page past the end", []string{"pageNo", "2147483647", "pageSize", "2147483647"}, answer{3, []string{}}},
		{"page zero is the first", []string{"pageNo", "0", "pageSize", "1"}, answer{3, []string{"a"}}},
		{"size zero", []string{"pageNo", "1", "pageSize", "0"}, answer{3, []string{}}},
		{"other group", []string{"pageNo", "1", "pageSize", "10", "groupName", "G2"}, answer{1, []string{"c"}}},
		{"every group", []string{"pageNo", "1", "pageSize", "10", "groupName", "*"}, answer{4, []string{"DEFAULT_GROUP@@a", "DEFAULT_GROUP@@b", "DEFAULT_GROUP@@d", "G2@@c"}}},
		{"instance label", []string{"pageNo", "1", "pageSize", "10", "groupName", "*", "selector", `{"type":"label","expression":"INSTANCE.metadata.zone = 'east'"}`},
			answer{2, []string{"DEFAULT_GROUP@@a", "G2@@c"}}},
		{"service label", []string{"pageNo", "1", "pageSize", "10", "selector", `{"type":"label","expression":"SERVICE.metadata.tier='gold'"}`}, answer{1, []string{"d"}}},
		{"none selector", []string{"pageNo", "1", "pageSize", "10", "selector", `{"type":"none"}`}, answer{3, []string{"a", "b", "d"}}},
		{"empty label", []string{"pageNo", "1", "pageSize", "10", "selector", `{"type":"label","expression":""}`}, answer{3, []string{"a", "b", "d"}}},
	} {
		code, body := nacos(t, base, http.MethodGet, "service/list", vals(tc.params...))
		var got answer
		if code == 200 {
			mustJSON(t, body, &got)
		}
		if code != 200 || got.Count != tc.want.Count || !slices.Equal(got.Doms, tc.want.Doms) {
			t.Errorf("%s: got %d %s, want 200 %+v", tc.name, code, body, tc.want)
		}
	}
	for _, bad := range [][]string{
		{"pageSize", "ten"}, {"pageNo", "1.5"}, {"groupName", "a@@b"},
		{"selector", "not json"}, {"selector", `{"expression":"x"}`}, {"selector", `{"type":"cmdb"}`},
		{"selector", `{"type":"label","expression":"CONSUMER.label.site = PROVIDER.label.site"}`},
		{"selector", `{"type":"label","expression":"INSTANCE.metadata.a='1'=2"}`},
		{"selector", `{"type":"label","expression":"INSTANCE.zone='x'"}`},
	} {
		code, body := nacos(t, base, http.MethodGet, "service/list", vals(append([]string{"pageNo", "1", "pageSize", "10"}, bad...)...))
		if code != 400 || !strings.Contains(body, bad[0]) {
			t.Errorf("%s=%s: got %d %s, want 400 naming %s", bad[0], bad[1], code, body, bad[0])
		}
	}
}
