package agent_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/roster-io/roster/agent"
)

// TestBadInput_4xxNamingFieldChangesNothing sends every kind of bad input
// and checks each answers a 4xx naming the field, and that the registry's
// change index did not move.
func TestBadInput_4xxNamingFieldChangesNothing(t *testing.T) {
	n, base := startNode(t, func(c *agent.Config) { c.MaxBodyBytes = 4096 })
	nacos(t, base, http.MethodPost, "instance", vals("serviceName", "svc", "ip", "10.0.0.1", "port", "80"))
	ok := "serviceName=svc&ip=10.0.0.1&port=80"
	long := strings.Repeat("x", 600)
	bigMeta := `{"k":"` + strings.Repeat("v", 17000) + `"}`
	tests := []struct {
		name, method, path, ctype, body string
		code                            int
		field                           string
	}{
		{"missing serviceName", "POST", "/nacos/v1/ns/instance", form, "ip=10.0.0.1&port=80", 400, "serviceName"},
		{"empty group part", "POST", "/nacos/v1/ns/instance", form, "serviceName=@@svc&ip=10.0.0.1&port=80", 400, "serviceName"},
		{"too many @@", "POST", "/nacos/v1/ns/instance", form, "serviceName=a@@b@@c&ip=10.0.0.1&port=80", 400, "serviceName"},
		{"control char in service", "POST", "/nacos/v1/ns/instance", form, "serviceName=sv%01c&ip=10.0.0.1&port=80", 400, "serviceName"},
		{"service too long", "POST", "/nacos/v1/ns/instance", form, "serviceName=" + long + "&ip=10.0.0.1&port=80", 400, "serviceName"},
		{"bad namespace", "POST", "/nacos/v1/ns/instance", form, ok + "&namespaceId=a%0Ab", 400, "namespaceId"},
		{"bad cluster", "POST", "/nacos/v1/ns/instance", form, ok + "&clusterName=a%7Fb", 400, "clusterName"},
		{"missing ip", "POST", "/nacos/v1/ns/instance", form, "serviceName=svc&port=80", 400, "ip"},
		{"invalid ip", "POST", "/nacos/v1/ns/instance", form, "serviceName=svc&ip=1.2.3.256&port=80", 400, "ip"},
		{"ip with space", "POST", "/nacos/v1/ns/instance", form, "serviceName=svc&ip=a+b&port=80", 400, "ip"},
		{"missing port", "POST", "/nacos/v1/ns/instance", form, "serviceName=svc&ip=10.0.0.1", 400, "port"},
		{"port zero", "POST", "/nacos/v1/ns/instance", form, "serviceName=svc&ip=10.0.0.1&port=0", 400, "port"},
		{"port too big", "POST", "/nacos/v1/ns/instance", form, "serviceName=svc&ip=10.0.0.1&port=65536", 400, "port"},
		{"port not a number", "POST", "/nacos/v1/ns/instance", form, "serviceName=svc&ip=10.0.0.1&port=eighty", 400, "port"},
		{"weight too big", "POST", "/nacos/v1/ns/instance", form, ok + "&weight=10001", 400, "weight"},
		{"weight negative", "POST", "/nacos/v1/ns/instance", form, ok + "&weight=-1", 400, "weight"},
		{"weight NaN", "POST", "/nacos/v1/ns/instance", form, ok + "&weight=NaN", 400, "weight"},
		{"bad bool", "POST", "/nacos/v1/ns/instance", form, ok + "&enabled=yes", 400, "enabled"},
		{"bad ephemeral", "POST", "/nacos/v1/ns/instance", form, ok + "&ephemeral=maybe", 400, "ephemeral"},
		{"metadata not json", "POST", "/nacos/v1/ns/instance", form, ok + "&metadata=%7Bnope", 400, "metadata"},
		{"metadata nested", "POST", "/nacos/v1/ns/instance", form, ok + `&metadata={"a":{"b":1}}`, 400, "metadata"},
		{"metadata pair", "POST", "/nacos/v1/ns/instance", form, ok + "&metadata=novalue", 400, "metadata"},
		{"oversized metadata body", "POST", "/nacos/v1/ns/instance", form, ok + "&metadata=" + bigMeta, 413, ""},
		{"bad beat timing", "POST", "/nacos/v1/ns/instance", form, ok + `&metadata={"preserved.heart.beat.timeout":"-5"}`, 400, "preserved.heart.beat.timeout"},
		{"body too large", "POST", "/nacos/v1/ns/instance", form, ok + "&x=" + strings.Repeat("a", 5000), 413, ""},
		{"beat not json", "PUT", "/nacos/v1/ns/instance/beat", form, "serviceName=svc&beat={bad", 400, "beat"},
		{"beat bad port", "PUT", "/nacos/v1/ns/instance/beat", form, `serviceName=svc&beat={"ip":"10.0.0.1","port":70000}`, 400, "port"},
		{"beat bad weight", "PUT", "/nacos/v1/ns/instance/beat", form, `serviceName=svc&beat={"ip":"10.0.0.1","port":7,"weight":1e9}`, 400, "weight"},
		{"update bad weight", "PUT", "/nacos/v1/ns/instance", form, ok + "&weight=abc", 400, "weight"},
		{"list bad healthyOnly", "GET", "/nacos/v1/ns/instance/list?serviceName=svc&healthyOnly=2", "", "", 400, "healthyOnly"},
		{"list bad clusters", "GET", "/nacos/v1/ns/instance/list?serviceName=svc&clusters=a%01", "", "", 400, "clusters"},
		{"service bad threshold", "POST", "/nacos/v1/ns/service", form, "serviceName=s2&protectThreshold=1.5", 400, "protectThreshold"},
		{"service list bad page", "GET", "/nacos/v1/ns/service/list?pageNo=x&pageSize=10", "", "", 400, "pageNo"},
		{"wrong method", "PATCH", "/nacos/v1/ns/instance/list", "", "", 405, ""},
		{"unknown path", "GET", "/nacos/v1/ns/nope", "", "", 404, ""},
		{"native bad json", "POST", "/v1/instance", "application/json", `{"service":`, 400, "json"},
		{"native wrong type", "POST", "/v1/instance", "application/json", `{"service":"s","ip":"10.0.0.1","port":"80"}`, 400, "port"},
		{"native missing service", "POST", "/v1/instance", "application/json", `{"ip":"10.0.0.1","port":80}`, 400, "service"},
		{"native bad ip", "POST", "/v1/instance", "application/json", `{"service":"s","ip":"::g","port":80}`, 400, "ip"},
		{"native bad port", "POST", "/v1/instance", "application/json", `{"service":"s","ip":"10.0.0.1","port":0}`, 400, "port"},
		{"native bad weight", "POST", "/v1/instance", "application/json", `{"service":"s","ip":"10.0.0.1","port":1,"weight":-3}`, 400, "weight"},
		{"native bad timing", "POST", "/v1/instance", "application/json", `{"service":"s","ip":"10.0.0.1","port":1,"beatTimeoutMs":-3}`, 400, "beatTimeoutMs"},
		{"native metadata key", "POST", "/v1/instance", "application/json", `{"service":"s","ip":"10.0.0.1","port":1,"metadata":{"":"x"}}`, 400, "metadata"},
		{"native body too large", "POST", "/v1/instance", "application/json", `{"service":"` + strings.Repeat("s", 5000) + `"}`, 413, ""},
		{"native beat mismatched instance", "PUT", "/v1/instance/beat", "application/json", `{"service":"svc","ip":"10.0.0.1","port":80,"instance":{"service":"svc","ip":"10.0.0.2","port":80}}`, 400, "instance"},
		{"native delete missing port", "DELETE", "/v1/instance?service=svc&ip=10.0.0.1", "", "", 400, "port"},
		{"native list bad index", "GET", "/v1/instances?service=svc&index=-1", "", "", 400, "index"},
		{"native list bad wait", "GET", "/v1/instances?service=svc&index=1&wait=forever", "", "", 400, "wait"},
		{"native services bad namespace", "GET", "/v1/services?namespace=a%00b", "", "", 400, "namespace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := n.Node().Store().Index()
			code, body := do(t, tt.method, base+tt.path, tt.ctype, tt.body)
			if code != tt.code {
				t.Fatalf("got %d %s, want %d", code, body, tt.code)
			}
			if tt.field != "" && !strings.Contains(body, tt.field) {
				t.Fatalf("body %q does not name the field %q", body, tt.field)
			}
			if after := n.Node().Store().Index(); after != before {
				t.Fatalf("registry changed: index %d -> %d", before, after)
			}
		})
	}
	// The node still serves, and the one good instance is untouched.
	l := list(t, base, vals("serviceName", "svc"))
	if len(l.Hosts) != 1 || l.Hosts[0].Weight != 1 {
		t.Fatalf("after bad input: got %+v", l.Hosts)
	}
}
