package agent_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/internal/await"
)

// TestNacosCluster_namespacesAndSwitchesReplicated checks a namespace
// created, updated and deleted through one node, and a switch set
// through it, are seen by the others; that the reserved namespace is
// refused and kept out of listings and counts; and that the members show
// in operator/servers.
func TestNacosCluster_namespacesAndSwitchesReplicated(t *testing.T) {
	tc := agenttest.NewCluster(t, 2)
	n0, n1 := base(tc.Agent("n0")), base(tc.Agent("n1"))
	c, b := console(t, n0, http.MethodPost, "console/namespaces", vals("customNamespaceId", "shared", "namespaceName", "Shared"))
	want(t, "create on n0", c, b, 200, "true")
	c, b = nacos(t, n0, http.MethodPut, "operator/switches", vals("entry", "defaultCacheMillis", "value", "7000"))
	want(t, "switch on n0", c, b, 200, "ok")
	await.Explain(t, 2*time.Second, "namespace and switch on n1", func() (bool, string) {
		_, nsBody := console(t, n1, http.MethodGet, "console/namespaces", nil)
		l := list(t, n1, vals("serviceName", "anything"))
		return strings.Contains(nsBody, `"namespace":"shared","namespaceShowName":"Shared"`) && l.CacheMillis == 7000,
			fmt.Sprintf("%s cacheMillis %d", nsBody, l.CacheMillis)
	})
	c, b = console(t, n1, http.MethodPost, "console/namespaces", vals("customNamespaceId", "shared", "namespaceName", "again"))
	want(t, "create the same on n1", c, b, 400, "already exists")
	c, b = console(t, n1, http.MethodPut, "console/namespaces", vals("namespace", "shared", "namespaceShowName", "Renamed"))
	want(t, "update on n1", c, b, 200, "true")
	await.Explain(t, 2*time.Second, "rename on n0", func() (bool, string) {
		_, body := console(t, n0, http.MethodGet, "console/namespaces", vals("show", "all", "namespaceId", "shared"))
		return strings.Contains(body, `"namespaceShowName":"Renamed"`), body
	})
	c, b = console(t, n0, http.MethodDelete, "console/namespaces", vals("namespaceId", "shared"))
	want(t, "delete on n0", c, b, 200, "true")
	await.Explain(t, 2*time.Second, "delete on n1", func() (bool, string) {
		_, body := console(t, n1, http.MethodGet, "console/namespaces", vals("checkNamespaceIdExist", "true", "customNamespaceId", "shared"))
		return body == "false", body
	})
	// The reserved namespace.
	c, b = nacos(t, n0, http.MethodPost, "instance", vals("namespaceId", "roster-system", "serviceName", "x", "ip", "10.0.0.1", "port", "80"))
	want(t, "register in the reserved namespace", c, b, 400, "namespaceId", "reserved")
	c, b = nacos(t, n0, http.MethodGet, "operator/metrics", nil)
	want(t, "metrics leave the door's records out", c, b, 200, `"serviceCount":0`)
	c, b = nacos(t, n0, http.MethodGet, "service/names", nil)
	if c != 200 || strings.Contains(b, "roster-system") {
		t.Errorf("service/names shows the reserved namespace: %d %s", c, b)
	}
	c, b = nacos(t, n1, http.MethodGet, "operator/servers", nil)
	want(t, "servers", c, b, 200, `"name":"n0"`, `"name":"n1"`)
}
