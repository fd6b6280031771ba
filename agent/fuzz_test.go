package agent_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/roster-io/roster/agent"
)

// fuzzNode is a node whose handler is driven in-process, without a socket.
func fuzzNode(f *testing.F) *agent.Agent {
	return inProcess(f, true, func(c *agent.Config) { c.MaxBodyBytes = 64 << 10 })
}

// serve runs one request through the handler and checks the invariants:
// no panic, no 5xx, and a 4xx leaves the registry unchanged.
func serve(t *testing.T, n *agent.Agent, req *http.Request) {
	before := n.Node().Store().Index()
	rec := httptest.NewRecorder()
	n.Handler().ServeHTTP(rec, req)
	if rec.Code >= 500 {
		t.Fatalf("%s %s: got %d %s", req.Method, req.URL, rec.Code, rec.Body.String())
	}
	if rec.Code >= 400 && n.Node().Store().Index() != before {
		t.Fatalf("%s %s answered %d but changed the registry", req.Method, req.URL, rec.Code)
	}
}

// FuzzNacosAPI sends arbitrary parameters to every Nacos endpoint.
func FuzzNacosAPI(f *testing.F) {
	n := fuzzNode(f)
	f.Add(uint8(0), "serviceName=svc&ip=10.0.0.1&port=80", "")
	f.Add(uint8(6), `serviceName=DEFAULT_GROUP@@svc&beat={"ip":"10.0.0.1","port":80,"metadata":{"a":"b&c"}}`, "")
	f.Add(uint8(5), "", "serviceName=svc&clusters=a,b&healthyOnly=true")
	f.Add(uint8(2), `serviceName=svc&ip=10.0.0.1&port=80&metadata={"k":"v"}&weight=3`, "")
	f.Add(uint8(7), "serviceName=s&protectThreshold=0.3&metadata=a=b", "")
	f.Add(uint8(11), "", "pageNo=1&pageSize=3&groupName=G")
	f.Add(uint8(11), "", `pageNo=1&pageSize=2147483647&groupName=*&selector={"type":"label","expression":"INSTANCE.metadata.a='b'"}`)
	f.Add(uint8(13), "", "key=public##DEFAULT_GROUP@@svc")
	f.Add(uint8(14), `serviceName=svc&instances=[{"ip":"10.0.0.1","port":80}]&metadata={"k":"v"}`, "")
	f.Add(uint8(15), `serviceName=svc&consistencyType=ephemeral&metadata={"k":""}`, "")
	f.Add(uint8(16), "", "expr=s.*&responsibleOnly=true")
	f.Add(uint8(19), "", "serviceName=svc&clusterName=DEFAULT&pageNo=1&pageSize=10")
	f.Add(uint8(20), "", "serviceName=svc")
	f.Add(uint8(22), "entry=defaultCacheMillis&value=4000", "")
	f.Add(uint8(27), "customNamespaceId=ns1&namespaceName=N&namespaceDesc=d", "")
	f.Add(uint8(28), "namespace=ns1&namespaceShowName=M", "")
	routes := []struct{ method, path string }{
		{"POST", "instance"}, {"DELETE", "instance"}, {"PUT", "instance"}, {"PATCH", "instance"},
		{"GET", "instance"}, {"GET", "instance/list"}, {"PUT", "instance/beat"}, {"POST", "service"},
		{"DELETE", "service"}, {"PUT", "service"}, {"GET", "service"}, {"GET", "service/list"},
		{"GET", "operator/metrics"}, {"GET", "instance/statuses"}, {"PUT", "instance/metadata/batch"},
		{"DELETE", "instance/metadata/batch"}, {"GET", "service/names"}, {"GET", "service/subscribers"},
		{"GET", "catalog/services"}, {"GET", "catalog/instances"}, {"GET", "catalog/service"},
		{"GET", "operator/switches"}, {"PUT", "operator/switches"}, {"GET", "operator/servers"},
		{"GET", "operator/push/state"}, {"GET", "/nacos/v1/core/cluster/nodes"}, {"GET", "/nacos/v1/console/namespaces"},
		{"POST", "/nacos/v1/console/namespaces"}, {"PUT", "/nacos/v1/console/namespaces"}, {"DELETE", "/nacos/v1/console/namespaces"},
	}
	f.Fuzz(func(t *testing.T, route uint8, body, query string) {
		r := routes[int(route)%len(routes)]
		path := r.path
		if !strings.HasPrefix(path, "/") {
			path = "/nacos/v1/ns/" + path
		}
		req := httptest.NewRequest(r.method, path, strings.NewReader(body))
		req.URL.RawQuery = query
		req.Header.Set("Content-Type", form)
		serve(t, n, req)
	})
}

// FuzzNativeAPI sends arbitrary JSON bodies and queries to the native API.
func FuzzNativeAPI(f *testing.F) {
	n := fuzzNode(f)
	f.Add(uint8(0), `{"service":"s","ip":"10.0.0.1","port":1,"metadata":{"a":"b"}}`, "")
	f.Add(uint8(3), `{"service":"s","ip":"10.0.0.1","port":1,"instance":{"service":"s","ip":"10.0.0.1","port":1}}`, "")
	f.Add(uint8(4), "", "service=s&healthyOnly=true&cluster=DEFAULT")
	f.Add(uint8(1), "", "service=s&ip=10.0.0.1&port=1")
	f.Add(uint8(5), "", "namespace=public&group=g")
	routes := []struct{ method, path string }{
		{"POST", "/v1/instance"}, {"DELETE", "/v1/instance"}, {"GET", "/v1/instance"},
		{"PUT", "/v1/instance/beat"}, {"GET", "/v1/instances"}, {"GET", "/v1/services"},
	}
	f.Fuzz(func(t *testing.T, route uint8, body, query string) {
		r := routes[int(route)%len(routes)]
		req := httptest.NewRequest(r.method, r.path, bytes.NewReader([]byte(body)))
		req.URL.RawQuery = query
		req.Header.Set("Content-Type", "application/json")
		serve(t, n, req)
	})
}
