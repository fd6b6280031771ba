package console_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/api"
	"github.com/roster-io/roster/internal/await"
)

// serviceRow is a row of the services page.
type serviceRow struct {
	Service, Group, Healthy, Total, Owner string
}

const servicesJS = `[...document.querySelectorAll('#services tbody tr[data-service]')].map(tr => ({
  Service: tr.dataset.service, Group: tr.dataset.group,
  Healthy: tr.querySelector('.healthy').textContent, Total: tr.querySelector('.total').textContent,
  Owner: tr.querySelector('.owner').textContent}))`

// instanceRow is a row of the service page.
type instanceRow struct {
	Addr, Cluster, Health, Enabled, Weight, Metadata, Beat string
}

const instancesJS = `[...document.querySelectorAll('#instances tbody tr[data-instance]')].map(tr => ({
  Addr: tr.dataset.instance, Cluster: tr.dataset.cluster,
  Health: tr.querySelector('.health').textContent, Enabled: tr.querySelector('.enabled').textContent,
  Weight: tr.querySelector('.weight').textContent,
  Metadata: [...tr.querySelectorAll('.metadata code')].map(c => c.textContent).join(','),
  Beat: tr.querySelector('.beat').textContent}))`

// register registers an instance through the native API. Nothing beats
// for it, so its timeouts are long: it stays healthy however slowly a
// loaded machine runs the test.
func register(t *testing.T, base, token string, in api.Instance) {
	t.Helper()
	in.BeatTimeoutMs, in.DeleteTimeoutMs = (10 * time.Minute).Milliseconds(), (20 * time.Minute).Milliseconds()
	call(t, "POST", base+"/v1/instance", token, in, nil)
}

func ptr[T any](v T) *T { return &v }

// wantServices is what the services page should show for namespace ns,
// built from the API: GET /v1/services and, for each, GET /v1/cluster/owner.
func wantServices(t *testing.T, base, ns string) []serviceRow {
	var s api.Services
	call(t, "GET", query(base, "/v1/services", "namespace", ns), "", nil, &s)
	var out []serviceRow
	for _, x := range s.Services {
		var o api.Owner
		call(t, "GET", query(base, "/v1/cluster/owner", "namespace", ns, "group", x.Group, "service", x.Service), "", nil, &o)
		out = append(out, serviceRow{Service: x.Service, Group: x.Group, Healthy: strconv.Itoa(x.Healthy),
			Total: strconv.Itoa(x.Instances), Owner: o.Owner})
	}
	return out
}

// wantInstances is what the service page should show, from GET /v1/instances.
func wantInstances(t *testing.T, base, service string) []instanceRow {
	var l api.List
	call(t, "GET", query(base, "/v1/instances", "service", service), "", nil, &l)
	var out []instanceRow
	for _, in := range l.Instances {
		health, enabled := "healthy", "enabled"
		if !*in.Healthy {
			health = "unhealthy"
		}
		if !*in.Enabled {
			enabled = "disabled"
		}
		var md []string
		for _, k := range slices.Sorted(maps.Keys(in.Metadata)) {
			md = append(md, k+"="+in.Metadata[k])
		}
		out = append(out, instanceRow{Addr: fmt.Sprintf("%s:%d", in.IP, in.Port), Cluster: in.Cluster, Health: health,
			Enabled: enabled, Weight: strconv.FormatFloat(*in.Weight, 'g', -1, 64), Metadata: strings.Join(md, ",")})
	}
	return out
}

// sameRows compares rows ignoring order and, for instances, the beat text.
func sameRows[T any](got, want []T, key func(T) string) string {
	g := make([]string, 0, len(got))
	for _, r := range got {
		g = append(g, key(r))
	}
	w := make([]string, 0, len(want))
	for _, r := range want {
		w = append(w, key(r))
	}
	sort.Strings(g)
	sort.Strings(w)
	if !slices.Equal(g, w) {
		return fmt.Sprintf("page shows %q, API says %q", g, w)
	}
	return ""
}

func instanceKey(r instanceRow) string {
	return strings.Join([]string{r.Addr, r.Cluster, r.Health, r.Enabled, r.Weight, r.Metadata}, "|")
}

// getInstance reads one instance through the API.
func getInstance(t *testing.T, base, service, ip string, port int) api.Instance {
	var in api.Instance
	call(t, "GET", query(base, "/v1/instance", "service", service, "ip", ip, "port", strconv.Itoa(port)), "", nil, &in)
	return in
}

// fixture is the cluster, the data and the browser tab TestConsole's
// steps share; the steps run in order, each starting where the last left
// the page.
type fixture struct {
	c    *agenttest.Cluster
	base string // the console under test: node n0
	ctx  context.Context
}

// newFixture starts a three-node cluster, registers the services the steps
// look at through n0 and opens n0's console at /nacos/.
func newFixture(t *testing.T) *fixture {
	c := agenttest.NewCluster(t, 3)
	base := agenttest.URL(c.Agent("n0"))
	for i := 1; i <= 3; i++ {
		register(t, base, "", api.Instance{Service: "orders", IP: fmt.Sprintf("10.0.0.%d", i), Port: 8080,
			Metadata: map[string]string{"zone": fmt.Sprintf("z%d", i), "version": "1.4.2"}})
	}
	register(t, base, "", api.Instance{Service: "orders", Cluster: "canary", IP: "10.0.1.1", Port: 8080, Weight: ptr(0.5)})
	register(t, base, "", api.Instance{Service: "payments", Group: "billing", IP: "10.0.2.1", Port: 9090, Ephemeral: ptr(false), Weight: ptr(5.0)})
	register(t, base, "", api.Instance{Service: "inventory", IP: "10.0.3.1", Port: 7000})
	register(t, base, "", api.Instance{Service: "search", IP: "10.0.4.1", Port: 9200, Enabled: ptr(false)})
	register(t, base, "", api.Instance{Namespace: "staging", Service: "orders", IP: "10.9.0.1", Port: 8080})
	// An instance that never beats turns unhealthy after its half-second
	// beat timeout.
	call(t, "POST", base+"/v1/instance", "", api.Instance{Service: "search", IP: "10.0.4.2", Port: 9200, BeatTimeoutMs: 500,
		DeleteTimeoutMs: (20 * time.Minute).Milliseconds()}, nil)
	await.True(t, 10*time.Second, "10.0.4.2 unhealthy", func() bool {
		return !*getInstance(t, base, "search", "10.0.4.2", 9200).Healthy
	})

	ctx := browser(t, 1280, 800)
	run(t, ctx, "open services", chromedp.Navigate(base+"/nacos/"), chromedp.WaitVisible(chromedp.CSS(`#services tbody tr[data-service]`)))
	return &fixture{c: c, base: base, ctx: ctx}
}

// TestConsole drives the console of a three-node cluster through one tab,
// step by step: each page against the API's answers (the services and
// their owners, the instances, the members), live updates, every action
// of the service page checked through the API, refused changes, the
// keyboard, the phone width and the ring hash.
func TestConsole(t *testing.T) {
	start := time.Now()
	f := newFixture(t)
	for _, step := range []struct {
		name string
		run  func(*testing.T)
	}{
		{"services page matches the API", f.servicesPageMatchesTheAPI},
		{"unhealthy first", f.unhealthyFirst},
		{"a registration shows without reload", f.aRegistrationShowsWithoutReload},
		{"namespace picker and search", f.namespacePickerAndSearch},
		{"service page matches the API", f.servicePageMatchesTheAPI},
		{"the skip link keeps the page", f.theSkipLinkKeepsThePage},
		{"disable by keyboard", f.disableByKeyboard},
		{"the focus survives a live update", f.theFocusSurvivesALiveUpdate},
		{"weight through the page", f.weightThroughThePage},
		{"the owner's console shows beat times", f.theOwnersConsoleShowsBeatTimes},
		{"metadata through the page", f.metadataThroughThePage},
		{"protect threshold through the page", f.protectThresholdThroughThePage},
		{"service metadata through the page", f.serviceMetadataThroughThePage},
		{"instance filter", f.instanceFilter},
		{"deregister through the page", f.deregisterThroughThePage},
		{"a bad weight is refused in place", f.aBadWeightIsRefusedInPlace},
		{"cluster page matches the API", f.clusterPageMatchesTheAPI},
		{"phone width", f.phoneWidth},
		{"the page's ring hash is the server's", f.thePagesRingHashIsTheServers},
	} {
		t.Run(step.name, step.run)
	}
	noFaults(t, f.ctx)
	t.Logf("console test took %v", time.Since(start))
}

// jsStrings renders strings as a JavaScript array literal.
func jsStrings(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(q, ",") + "]"
}

// noFaults fails the test if the console caught an error of its own (a
// script error or an unhandled rejection, counted on <body>).
func noFaults(t *testing.T, ctx context.Context) {
	t.Helper()
	got := value(t, ctx, "faults", chromedp.Evaluate[[]string](`[document.body.dataset.errors || '', document.querySelector('#fatal').textContent]`))
	if got[0] != "" {
		t.Errorf("the console caught %s errors of its own: %s", got[0], got[1])
	}
}
