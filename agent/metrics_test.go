package agent_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/internal/await"
)

// scrape fetches base/metrics and parses it with Prometheus' text parser.
func scrape(t testing.TB, base string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: got %d, want 200", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// sample returns the value of the series name{labels} (counter, gauge, or a
// histogram's sample count), and whether it exists.
func sample(fams map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	f, ok := fams[name]
	if !ok {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, lp := range m.GetLabel() {
				if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

// metricAtLeast waits until name{labels} on base is at least want.
func metricAtLeast(t testing.TB, base string, want float64, name string, labels ...string) {
	t.Helper()
	await.True(t, 10*time.Second, name+" reaches its value", func() bool {
		got, _ := sample(scrape(t, base), name, labels...)
		return got >= want
	})
}

// metricEquals waits until name{labels} on base is want.
func metricEquals(t testing.TB, base string, want float64, name string, labels ...string) {
	t.Helper()
	await.True(t, 10*time.Second, name+" reaches its value", func() bool {
		got, ok := sample(scrape(t, base), name, labels...)
		return ok && got == want
	})
}

func TestMetrics_appearAndMove(t *testing.T) {
	_, u := startNode(t)
	before := scrape(t, u)
	for _, name := range []string{"roster_instances", "roster_services", "roster_services_owned",
		"roster_partitions_owned", "roster_ready", "roster_members", "roster_gossip_health_score",
		"roster_beats_received_total", "roster_instance_expiries_total", "roster_replication_records_sent_total",
		"roster_antientropy_exchanges_total", "go_goroutines"} {
		if _, ok := before[name]; !ok {
			t.Errorf("metric %s missing", name)
		}
	}
	if v, _ := sample(before, "roster_instances"); v != 0 {
		t.Fatalf("roster_instances before any register: got %v, want 0", v)
	}

	md := `{"preserved.heart.beat.timeout":"300","preserved.ip.delete.timeout":"600"}`
	for _, ip := range []string{"10.0.0.1", "10.0.0.2"} {
		if code, body := nacos(t, u, http.MethodPost, "instance", vals("serviceName", "orders", "ip", ip, "port", "80")); code != 200 {
			t.Fatalf("register: %d %s", code, body)
		}
	}
	if code, body := nacos(t, u, http.MethodPost, "instance", vals("serviceName", "short", "ip", "10.0.0.3", "port", "80", "metadata", md)); code != 200 {
		t.Fatalf("register: %d %s", code, body)
	}
	if code, body := nacos(t, u, http.MethodPut, "instance/beat", vals("serviceName", "orders", "ip", "10.0.0.1", "port", "80")); code != 200 {
		t.Fatalf("beat: %d %s", code, body)
	}
	do(t, http.MethodGet, u+"/no/such/path", "", "")

	after := scrape(t, u)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"roster_instances", nil, 3},
		{"roster_services", nil, 2},
		{"roster_services_owned", nil, 2},
		{"roster_ready", nil, 1},
		{"roster_members", []string{"state", "alive"}, 1},
		{"roster_beats_received_total", nil, 1},
		{"roster_http_requests_total", []string{"route", "/nacos/v1/ns/instance", "method", "POST", "code", "200"}, 3},
		{"roster_http_request_duration_seconds", []string{"route", "/nacos/v1/ns/instance", "method", "POST"}, 3},
		{"roster_http_requests_total", []string{"route", "unmatched", "code", "404"}, 1},
	} {
		if got, ok := sample(after, c.name, c.labels...); !ok || got != c.want {
			t.Errorf("%s%v: got %v (present %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	if v, _ := sample(after, "roster_partitions_owned"); v <= 0 {
		t.Errorf("roster_partitions_owned: got %v, want > 0", v)
	}

	// The short-lived instance expires: both transitions are counted and
	// the instances gauge drops.
	metricAtLeast(t, u, 1, "roster_instance_expiries_total", "transition", "removed")
	final := scrape(t, u)
	if v, _ := sample(final, "roster_instance_expiries_total", "transition", "unhealthy"); v != 1 {
		t.Errorf("unhealthy expiries: got %v, want 1", v)
	}
	if v, _ := sample(final, "roster_instances"); v != 2 {
		t.Errorf("roster_instances after expiry: got %v, want 2", v)
	}
	// Both transitions have a lateness observation.
	if v, ok := sample(final, "roster_expiry_lateness_seconds"); !ok || v != 2 {
		t.Errorf("roster_expiry_lateness_seconds count: got %v (present %v), want 2", v, ok)
	}
}

func TestMetrics_clusterReplicationAndHandOff(t *testing.T) {
	tc := agenttest.NewCluster(t, 2)
	owner, other := ownerAndOther(tc, "metered")
	for _, n := range tc.Agents() {
		metricEquals(t, base(n), 2, "roster_members", "state", "alive")
	}
	if code, body := nacos(t, base(other), http.MethodPost, "instance", vals("serviceName", "metered", "ip", "10.0.0.1", "port", "80")); code != 200 {
		t.Fatalf("register: %d %s", code, body)
	}
	if code, body := nacos(t, base(other), http.MethodPut, "instance/beat", vals("serviceName", "metered", "ip", "10.0.0.1", "port", "80")); code != 200 {
		t.Fatalf("beat: %d %s", code, body)
	}

	sent := scrape(t, base(other))
	for _, name := range []string{"roster_replication_records_sent_total", "roster_replication_batches_sent_total",
		"roster_beats_handed_off_total", "roster_beat_handoff_batches_total", "roster_beats_received_total"} {
		if v, _ := sample(sent, name); v < 1 {
			t.Errorf("%s on the writer: got %v, want >= 1", name, v)
		}
	}
	got := scrape(t, base(owner))
	for _, name := range []string{"roster_replication_records_received_total", "roster_replication_records_applied_total",
		"roster_replication_lag_seconds"} {
		if v, _ := sample(got, name); v < 1 {
			t.Errorf("%s on the peer: got %v, want >= 1", name, v)
		}
	}
	// The writer dialed the owner to replicate and hand off: its peer
	// and gossip bytes move both ways.
	for _, dir := range []string{"sent", "received"} {
		metricAtLeast(t, base(other), 1, "roster_peer_bytes_total", "direction", dir)
		metricAtLeast(t, base(owner), 1, "roster_gossip_bytes_total", "direction", dir)
	}
	metricEquals(t, base(owner), 1, "roster_services_owned")
	metricEquals(t, base(other), 0, "roster_services_owned")
	// Anti-entropy runs every ~200 ms in tests; equal registries give
	// "equal" exchanges.
	metricAtLeast(t, base(owner), 1, "roster_antientropy_exchanges_total", "result", "equal")
}

// handlerNode returns a node that is built but not started, served
// in-process.
func handlerNode(t *testing.T, mutate func(*agent.Config)) http.Handler {
	t.Helper()
	return inProcess(t, true, mutate).Handler()
}

func TestPprof_offByDefaultOnWithFlag(t *testing.T) {
	for _, c := range []struct {
		name  string
		pprof bool
		want  int
	}{
		{"default", false, http.StatusNotFound},
		{"enabled", true, http.StatusOK},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := handlerNode(t, func(cfg *agent.Config) { cfg.Pprof = c.pprof })
			for _, path := range []string{"/debug/pprof/", "/debug/pprof/cmdline", "/debug/pprof/goroutine?debug=1"} {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
				if rec.Code != c.want {
					t.Errorf("GET %s: got %d, want %d", path, rec.Code, c.want)
				}
				if c.pprof && path == "/debug/pprof/" && !strings.Contains(rec.Body.String(), "goroutine") {
					t.Errorf("GET %s: index lists no profiles: %.200s", path, rec.Body.String())
				}
			}
		})
	}
}

func TestMetrics_membersByState(t *testing.T) {
	tc := agenttest.NewCluster(t, 3)
	n0 := tc.Agent("n0")
	metricEquals(t, base(n0), 3, "roster_members", "state", "alive")
	tc.Kill("n2")
	metricAtLeast(t, base(n0), 1, "roster_members", "state", "gone")
	fams := scrape(t, base(n0))
	if v, _ := sample(fams, "roster_members", "state", "alive"); v != 2 {
		t.Errorf("alive members after a kill: got %v, want 2", v)
	}
	if v, _ := sample(fams, "roster_members", "state", "gone"); v != 1 {
		t.Errorf("gone members after a kill: got %v, want 1", v)
	}
}

// TestMetrics_notReadyAnswersKeepTheirRoute checks that requests refused
// while the node syncs are counted under their route, not as unmatched.
func TestMetrics_notReadyAnswersKeepTheirRoute(t *testing.T) {
	h := inProcess(t, false).Handler() // never started: not synced
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/instances?service=x", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("GET /v1/instances before sync: got %d, want 503", rec.Code)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	if v, _ := sample(fams, "roster_http_requests_total", "route", "/v1/instances", "method", "GET", "code", "503"); v != 1 {
		t.Errorf("503 under its route: got %v, want 1", v)
	}
	if v, _ := sample(fams, "roster_ready"); v != 0 {
		t.Errorf("roster_ready before sync: got %v, want 0", v)
	}
}
