package agent_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// The golden shapes of Nacos 1.4's answers, read from its source
// (naming controllers, the console's NamespaceController, the core's
// NacosClusterController, and the Jackson views of Instance, Cluster,
// Member, ServiceView, Subscriber and SwitchDomain): each answer's fields,
// by path, with their JSON kinds. roster's answers must have exactly
// these fields, except the additions listed in extra.

// shape flattens a JSON value into path → kind; arrays contribute their
// first element under "[]".
func shape(v any, path string, out map[string]string) {
	key := path
	if key == "" {
		key = "." // the root
	}
	switch x := v.(type) {
	case map[string]any:
		out[key] = "object"
		for k, e := range x {
			shape(e, path+"."+k, out)
		}
	case []any:
		out[key] = "array"
		if len(x) > 0 {
			child := path + "[]"
			if path == "" {
				child = ".[]"
			}
			shape(x[0], child, out)
		}
	case string:
		out[key] = "string"
	case float64:
		out[key] = "number"
	case bool:
		out[key] = "bool"
	case nil:
		out[key] = "null"
	}
}

// golden is one endpoint's expected shape.
type golden struct {
	name, method, path string
	params             url.Values
	fields             string // "path:kind" separated by spaces; paths from "" (the root)
	extra              string // roster's additions, same form
}

func TestNacosGolden_shapes(t *testing.T) {
	_, base := startNode(t)
	nacos(t, base, http.MethodPost, "instance", vals("serviceName", "gold", "ip", "10.0.0.1", "port", "80", "metadata", `{"k":"v"}`))
	nacos(t, base, http.MethodPut, "service", vals("serviceName", "gold", "protectThreshold", "0", "metadata", `{"s":"t"}`))
	// A subscriber, so service/subscribers has an entry.
	listAs(t, base, "Nacos-Java-Client:v1.4.2", "gold", 40001)
	cases := []golden{
		{"instance/statuses", "GET", "instance/statuses", vals("key", "public##DEFAULT_GROUP@@gold"), ".:object .ips:array .ips[]:string", ""},
		{"metadata/batch PUT", "PUT", "instance/metadata/batch", vals("serviceName", "gold", "consistencyType", "ephemeral", "metadata", `{"x":"y"}`),
			".:object .updated:array .updated[]:string", ""},
		{"service/names", "GET", "service/names", vals("expr", "go"), ".:object .services:object .services.public:array .services.public[]:string .count:number", ""},
		{"service/subscribers", "GET", "service/subscribers", vals("serviceName", "gold"),
			".:object .subscribers:array .subscribers[]:object .subscribers[].addrStr:string .subscribers[].agent:string .subscribers[].app:string " +
				".subscribers[].ip:string .subscribers[].namespaceId:string .subscribers[].serviceName:string .count:number", ""},
		{"service/list", "GET", "service/list", vals("pageNo", "1", "pageSize", "10"), ".:object .doms:array .doms[]:string .count:number", ""},
		{"catalog/services", "GET", "catalog/services", vals("pageNo", "1", "pageSize", "10"),
			".:object .serviceList:array .serviceList[]:object .serviceList[].name:string .serviceList[].groupName:string .serviceList[].clusterCount:number " +
				".serviceList[].ipCount:number .serviceList[].healthyInstanceCount:number .serviceList[].triggerFlag:string .count:number", ""},
		{"catalog/services withInstances", "GET", "catalog/services", vals("pageNo", "1", "pageSize", "10", "withInstances", "true"),
			".:array .[]:object .[].serviceName:string .[].groupName:string .[].metadata:object .[].metadata.s:string .[].clusterMap:object " +
				".[].clusterMap.DEFAULT:object .[].clusterMap.DEFAULT.hosts:array .[].clusterMap.DEFAULT.hosts[]:object .[].clusterMap.DEFAULT.hosts[].ip:string " +
				".[].clusterMap.DEFAULT.hosts[].port:number .[].clusterMap.DEFAULT.hosts[].metadata:object .[].clusterMap.DEFAULT.hosts[].metadata.k:string " +
				".[].clusterMap.DEFAULT.hosts[].metadata.x:string .[].clusterMap.DEFAULT.hosts[].valid:bool .[].clusterMap.DEFAULT.hosts[].weight:number .[].clusterMap.DEFAULT.hosts[].enabled:bool", ""},
		{"catalog/service", "GET", "catalog/service", vals("serviceName", "gold"),
			".:object .service:object .service.name:string .service.groupName:string .service.protectThreshold:number .service.selector:object " +
				".service.selector.type:string .service.metadata:object .service.metadata.s:string .clusters:array .clusters[]:object .clusters[].serviceName:string " +
				".clusters[].name:string .clusters[].healthChecker:object .clusters[].healthChecker.type:string .clusters[].defaultPort:number " +
				".clusters[].defaultCheckPort:number .clusters[].useIPPort4Check:bool .clusters[].metadata:object .clusters[].sitegroup:string", ""},
		{"catalog/instances", "GET", "catalog/instances", vals("serviceName", "gold", "clusterName", "DEFAULT", "pageNo", "1", "pageSize", "10"),
			".:object .list:array .list[]:object .list[].instanceId:string .list[].ip:string .list[].port:number .list[].weight:number .list[].healthy:bool " +
				".list[].enabled:bool .list[].ephemeral:bool .list[].clusterName:string .list[].serviceName:string .list[].metadata:object .list[].metadata.k:string " +
				".list[].metadata.x:string .list[].marked:bool .list[].instanceHeartBeatInterval:number .list[].instanceHeartBeatTimeOut:number " +
				".list[].ipDeleteTimeout:number .list[].instanceIdGenerator:string .count:number", ""},
		{"operator/servers", "GET", "operator/servers", nil, ".:object .servers:array .servers[]:object" + member(".servers[]"), memberExtra(".servers[]")},
		{"operator/metrics", "GET", "operator/metrics", nil, ".:object .status:string .serviceCount:number .instanceCount:number .raftNotifyTaskCount:number " +
			".responsibleServiceCount:number .responsibleInstanceCount:number .cpu:number .load:number .mem:number", ".subscribeCount:number"},
		{"operator/switches", "GET", "operator/switches", nil, switchesShape, ""},
		{"operator/push/state", "GET", "operator/push/state", nil, ".:object .succeed:number .total:number .ratio:number .reset:bool",
			".acked:number .retried:number .failed:number .tooLarge:number"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body := nacos(t, base, tc.method, tc.path, tc.params)
			checkShape(t, code, body, tc.fields, tc.extra)
		})
	}
	t.Run("core/cluster/nodes", func(t *testing.T) {
		code, body := do(t, "GET", base+"/nacos/v1/core/cluster/nodes", "", "")
		checkShape(t, code, body, ".:object .code:number .message:null .data:array .data[]:object"+member(".data[]"), memberExtra(".data[]"))
	})
	t.Run("console/namespaces", func(t *testing.T) {
		code, body := do(t, "GET", base+"/nacos/v1/console/namespaces", "", "")
		checkShape(t, code, body, ".:object .code:number .message:null .data:array .data[]:object .data[].namespace:string .data[].namespaceShowName:string "+
			".data[].quota:number .data[].configCount:number .data[].type:number", ".data[].serviceCount:number .data[].instanceCount:number")
		code, body = do(t, "GET", base+"/nacos/v1/console/namespaces?show=all&namespaceId=", "", "")
		checkShape(t, code, body, ".:object .namespace:string .namespaceShowName:string .quota:number .configCount:number .type:number .namespaceDesc:string", "")
	})
}

// member is the shape of Nacos' Member under prefix.
func member(p string) string {
	return " " + p + ".ip:string " + p + ".port:number " + p + ".state:string " + p + ".extendInfo:object " + p + ".address:string " + p + ".failAccessCnt:number"
}

// memberExtra is what roster puts in a Member's extendInfo (Nacos puts its
// own keys there: site, raftPort, naming, version).
func memberExtra(p string) string {
	e := p + ".extendInfo."
	return e + "version:string " + e + "name:string " + e + "gossipAddr:string " + e + "epoch:number " + e + "self:bool"
}

// switchesShape is Nacos 1.4's SwitchDomain as Jackson writes it.
const switchesShape = ".:object .name:string .masters:null .adWeightMap:object .defaultPushCacheMillis:number .clientBeatInterval:number " +
	".defaultCacheMillis:number .distroThreshold:number .healthCheckEnabled:bool .autoChangeHealthCheckEnabled:bool .distroEnabled:bool " +
	".enableStandalone:bool .pushEnabled:bool .checkTimes:number .httpHealthParams:object .httpHealthParams.max:number .httpHealthParams.min:number " +
	".httpHealthParams.factor:number .tcpHealthParams:object .tcpHealthParams.max:number .tcpHealthParams.min:number .tcpHealthParams.factor:number " +
	".mysqlHealthParams:object .mysqlHealthParams.max:number .mysqlHealthParams.min:number .mysqlHealthParams.factor:number .incrementalList:array " +
	".serverStatusSynchronizationPeriodMillis:number .serviceStatusSynchronizationPeriodMillis:number .disableAddIP:bool .sendBeatOnly:bool " +
	".lightBeatEnabled:bool .limitedUrlMap:object .distroServerExpiredMillis:number .pushGoVersion:string .pushJavaVersion:string " +
	".pushPythonVersion:string .pushCVersion:string .pushCSharpVersion:string .enableAuthentication:bool .overriddenServerStatus:null " +
	".defaultInstanceEphemeral:bool .healthCheckWhiteList:array .checksum:null"

// checkShape compares body's fields, one by one, with fields plus extra.
func checkShape(t *testing.T, code int, body, fields, extra string) {
	t.Helper()
	if code != http.StatusOK {
		t.Fatalf("got %d %s, want 200", code, body)
	}
	var v any
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	got := map[string]string{}
	shape(v, "", got)
	want := map[string]string{}
	for _, f := range strings.Fields(fields + " " + extra) {
		i := strings.LastIndex(f, ":")
		want[f[:i]] = f[i+1:]
	}
	for _, p := range sortedKeys(want) {
		if got[p] != want[p] {
			t.Errorf("field %s: got %q, want %q", p, got[p], want[p])
		}
	}
	for _, p := range sortedKeys(got) {
		if _, ok := want[p]; !ok {
			t.Errorf("field %s (%s) is not in Nacos' shape", p, got[p])
		}
	}
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
