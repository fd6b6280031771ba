package agent_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/store"
)

type sdGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels"`
}

// prometheusSD reads /v1/sd/prometheus with query q.
func prometheusSD(t *testing.T, a *agent.Agent, q string) (int, []sdGroup) {
	t.Helper()
	resp, err := http.Get(agenttest.URL(a) + "/v1/sd/prometheus?" + q)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []sdGroup
	if resp.StatusCode == 200 {
		if resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("content type %q; want application/json", resp.Header.Get("Content-Type"))
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, out
}

// TestPrometheusSD checks the HTTP service discovery answer: one target
// group per instance with roster's labels (metadata keys made label
// names), the namespace/group/service filters, healthy=true, and a 400
// for a bad parameter.
func TestPrometheusSD(t *testing.T) {
	a := agenttest.Start(t)
	ctx := context.Background()
	reg := func(k store.Key, ip string, port int, healthy bool, md map[string]string) {
		_, err := a.Node().Register(ctx, k, store.Instance{InstanceKey: store.InstanceKey{Cluster: "c1", IP: ip, Port: port},
			Weight: 2.5, Healthy: healthy, Enabled: true, Metadata: md})
		if err != nil {
			t.Fatal(err)
		}
	}
	web := store.Key{Namespace: "public", Group: "DEFAULT_GROUP", Service: "web"}
	reg(web, "10.0.0.1", 9100, true, map[string]string{"metrics.path": "/m", "zone": "a"})
	reg(web, "2001:db8::2", 9100, false, nil)
	reg(store.Key{Namespace: "dev", Group: "g", Service: "api"}, "10.1.0.1", 9200, true, nil)

	code, all := prometheusSD(t, a, "")
	if code != 200 || len(all) != 3 {
		t.Fatalf("all: %d, %v; want 3 target groups", code, all)
	}
	code, groups := prometheusSD(t, a, "namespace=public&service=web")
	if code != 200 || len(groups) != 2 {
		t.Fatalf("web: %d, %v; want 2 groups", code, groups)
	}
	g := groups[0]
	want := map[string]string{
		"__meta_roster_namespace": "public", "__meta_roster_group": "DEFAULT_GROUP", "__meta_roster_service": "web",
		"__meta_roster_cluster": "c1", "__meta_roster_healthy": "true", "__meta_roster_enabled": "true",
		"__meta_roster_weight": "2.5", "__meta_roster_metadata_metrics_path": "/m", "__meta_roster_metadata_zone": "a",
		"__meta_roster_instance_id": "10.0.0.1#9100#c1#DEFAULT_GROUP@@web",
	}
	if len(g.Targets) != 1 || g.Targets[0] != "10.0.0.1:9100" {
		t.Errorf("targets %v; want [10.0.0.1:9100]", g.Targets)
	}
	for k, v := range want {
		if g.Labels[k] != v {
			t.Errorf("label %s = %q; want %q (labels %v)", k, g.Labels[k], v, g.Labels)
		}
	}
	if groups[1].Targets[0] != "[2001:db8::2]:9100" || groups[1].Labels["__meta_roster_healthy"] != "false" {
		t.Errorf("IPv6 unhealthy instance: %v", groups[1])
	}
	if _, groups = prometheusSD(t, a, "service=web&healthy=true"); len(groups) != 1 {
		t.Errorf("healthy=true: %v; want 1 group", groups)
	}
	if _, groups = prometheusSD(t, a, "namespace=dev&group=g"); len(groups) != 1 || groups[0].Labels["__meta_roster_service"] != "api" {
		t.Errorf("namespace=dev&group=g: %v; want api", groups)
	}
	if code, _ = prometheusSD(t, a, "healthy=maybe"); code != http.StatusBadRequest {
		t.Errorf("healthy=maybe: %d; want 400", code)
	}
}
