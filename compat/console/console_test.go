package console_test

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/roster-io/roster/agent"
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

// TestConsole drives the console of a three-node cluster: the services
// page against /v1/services and the owners the API names, a live update,
// the service page against /v1/instances, disabling an instance (by
// keyboard) and changing a weight through the page, an invalid weight
// refused in place, and the cluster page against /v1/cluster/members.
func TestConsole(t *testing.T) {
	start := time.Now()
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

	t.Run("services page matches the API", func(t *testing.T) {
		want := wantServices(t, base, "public")
		pageShows(t, ctx, "services", servicesJS, func(got []serviceRow) string {
			return sameRows(got, want, func(r serviceRow) string { return fmt.Sprint(r) })
		})
		url := value(t, ctx, "url", chromedp.Location())
		if !strings.HasSuffix(url, "/ui/") {
			t.Errorf("/nacos/ led to %s, want the console at /ui/", url)
		}
	})

	t.Run("unhealthy first", func(t *testing.T) {
		run(t, ctx, "sort", js(`(s => { s.value = 'unhealthy'; s.dispatchEvent(new Event('change')); })(document.querySelector('#f-sort'))`))
		pageShows(t, ctx, "search first", servicesJS, func(got []serviceRow) string {
			if len(got) == 0 || got[0].Service != "search" || got[0].Healthy != "1" || got[0].Total != "2" {
				return fmt.Sprintf("rows %v, want search (1 of 2 healthy) first", got)
			}
			return ""
		})
		shot(t, ctx, "console-services.png")
		run(t, ctx, "sort by name", js(`(s => { s.value = 'name'; s.dispatchEvent(new Event('change')); })(document.querySelector('#f-sort'))`))
	})

	t.Run("a registration shows without reload", func(t *testing.T) {
		register(t, base, "", api.Instance{Service: "inventory", IP: "10.0.3.2", Port: 7000})
		pageShows(t, ctx, "inventory has 2 instances", servicesJS, func(got []serviceRow) string {
			for _, r := range got {
				if r.Service == "inventory" && r.Total == "2" && r.Healthy == "2" {
					return ""
				}
			}
			return fmt.Sprintf("rows %v", got)
		})
	})

	t.Run("namespace picker and search", func(t *testing.T) {
		run(t, ctx, "pick staging", chromedp.SetValue(chromedp.CSS(`#f-namespace`), "staging"),
			js(`document.querySelector('#f-namespace').dispatchEvent(new Event('change'))`))
		want := wantServices(t, base, "staging")
		pageShows(t, ctx, "staging services", servicesJS, func(got []serviceRow) string {
			return sameRows(got, want, func(r serviceRow) string { return fmt.Sprint(r) })
		})
		run(t, ctx, "back to public", chromedp.Navigate(base+"/ui/#/services?q=pay"))
		pageShows(t, ctx, "search pay", servicesJS, func(got []serviceRow) string {
			if len(got) != 1 || got[0].Service != "payments" {
				return fmt.Sprintf("rows %v, want payments alone", got)
			}
			return ""
		})
	})

	t.Run("service page matches the API", func(t *testing.T) {
		run(t, ctx, "open orders", chromedp.Navigate(base+"/ui/#/services"),
			chromedp.WaitVisible(chromedp.CSS(`tr[data-service="orders"] a`)),
			chromedp.Click(chromedp.CSS(`tr[data-service="orders"] a`)),
			chromedp.WaitVisible(chromedp.CSS(`#instances tbody tr[data-instance]`)))
		want := wantInstances(t, base, "orders")
		rows := pageShows(t, ctx, "orders instances", instancesJS, func(got []instanceRow) string {
			return sameRows(got, want, instanceKey)
		})
		var owner api.Owner
		call(t, "GET", query(base, "/v1/cluster/owner", "service", "orders"), "", nil, &owner)
		for _, r := range rows {
			if owner.Owner == "n0" && !strings.HasSuffix(r.Beat, " ago") {
				t.Errorf("%s: last beat %q, want a time ago (this node owns orders)", r.Addr, r.Beat)
			}
			if owner.Owner != "n0" && r.Beat != "on "+owner.Owner {
				t.Errorf("%s: last beat %q, want %q (the owner tracks beats)", r.Addr, r.Beat, "on "+owner.Owner)
			}
		}
		shownOwner := value(t, ctx, "owner", chromedp.Text(chromedp.CSS(`#svc-owner`)))
		if !strings.HasPrefix(shownOwner, owner.Owner) {
			t.Errorf("service page names owner %q, API %q", shownOwner, owner.Owner)
		}
	})

	t.Run("the skip link keeps the page", func(t *testing.T) {
		run(t, ctx, "skip", chromedp.Focus(chromedp.CSS(`.skip`)), chromedp.KeyEvent(kb.Enter))
		got := value(t, ctx, "focus", chromedp.Evaluate[[]string](`[document.activeElement.id, location.hash]`))
		if len(got) != 2 || got[0] != "main" || !strings.HasPrefix(got[1], "#/service?") {
			t.Errorf("after the skip link: focus on %q at %q, want main on the service page", got[0], got[1])
		}
	})

	t.Run("disable by keyboard", func(t *testing.T) {
		run(t, ctx, "open the dialog", chromedp.Focus(chromedp.CSS(`button[aria-label="Disable 10.0.0.2:8080"]`)),
			chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS(`#confirm`)))
		focused := value(t, ctx, "focus", chromedp.Evaluate[string](`document.activeElement.id`))
		if focused != "confirm-ok" {
			t.Errorf("focus in the dialog is on %q, want the confirm button", focused)
		}
		run(t, ctx, "confirm", chromedp.KeyEvent(kb.Enter), chromedp.WaitNotVisible(chromedp.CSS(`#confirm`)))
		await.True(t, 5*time.Second, "10.0.0.2 disabled in the API", func() bool {
			return !*getInstance(t, base, "orders", "10.0.0.2", 8080).Enabled
		})
		pageShows(t, ctx, "page shows disabled", instancesJS, func(got []instanceRow) string {
			return sameRows(got, wantInstances(t, base, "orders"), instanceKey)
		})
	})

	t.Run("the focus survives a live update", func(t *testing.T) {
		run(t, ctx, "focus", chromedp.Focus(chromedp.CSS(`button[aria-label="Weight 10.0.0.1:8080"]`)))
		register(t, base, "", api.Instance{Service: "orders", Cluster: "canary", IP: "10.0.1.2", Port: 8080})
		pageShows(t, ctx, "the new instance", instancesJS, func(got []instanceRow) string {
			return sameRows(got, wantInstances(t, base, "orders"), instanceKey)
		})
		if got := value(t, ctx, "focus", chromedp.Evaluate[string](`document.activeElement.getAttribute('aria-label')`)); got != "Weight 10.0.0.1:8080" {
			t.Errorf("after the live update the focus is on %q, want the same button", got)
		}
		call(t, "DELETE", query(base, "/v1/instance", "service", "orders", "cluster", "canary", "ip", "10.0.1.2", "port", "8080"), "", nil, nil)
	})

	t.Run("weight through the page", func(t *testing.T) {
		run(t, ctx, "set weight", chromedp.Click(chromedp.CSS(`button[aria-label="Weight 10.0.0.3:8080"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#f-weight`)), chromedp.SetValue(chromedp.CSS(`#f-weight`), "7"),
			chromedp.Click(chromedp.CSS(`#confirm-ok`)), chromedp.WaitNotVisible(chromedp.CSS(`#confirm`)))
		await.True(t, 5*time.Second, "weight 7 in the API", func() bool {
			return *getInstance(t, base, "orders", "10.0.0.3", 8080).Weight == 7
		})
		pageShows(t, ctx, "page shows weight 7", instancesJS, func(got []instanceRow) string {
			return sameRows(got, wantInstances(t, base, "orders"), instanceKey)
		})
	})

	t.Run("the owner's console shows beat times", func(t *testing.T) {
		var owner api.Owner
		call(t, "GET", query(base, "/v1/cluster/owner", "service", "orders"), "", nil, &owner)
		ownerBase := agenttest.URL(c.Agent(owner.Owner))
		call(t, "PUT", ownerBase+"/v1/instance/beat", "", api.Instance{Service: "orders", IP: "10.0.0.1", Port: 8080}, nil)
		// (a beat, so the times differ: the others were last heard at
		// their registration or update)
		run(t, ctx, "open the owner's console", chromedp.Navigate(ownerBase+"/ui/#/service?service=orders"),
			chromedp.WaitVisible(chromedp.CSS(`#instances tbody tr[data-instance]`)))
		pageShows(t, ctx, "beat times", instancesJS, func(got []instanceRow) string {
			if msg := sameRows(got, wantInstances(t, ownerBase, "orders"), instanceKey); msg != "" {
				return msg
			}
			for _, r := range got {
				if !strings.HasSuffix(r.Beat, " ago") {
					return fmt.Sprintf("%s: last beat %q on the owner, want a time ago", r.Addr, r.Beat)
				}
			}
			return ""
		})
		shot(t, ctx, "console-service.png")
	})

	t.Run("metadata through the page", func(t *testing.T) {
		run(t, ctx, "edit metadata", chromedp.Click(chromedp.CSS(`button[aria-label="Metadata 10.0.1.1:8080"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#f-metadata`)),
			js(`document.querySelector('#f-metadata').value = 'track=canary\nowner=team-a'`),
			chromedp.Click(chromedp.CSS(`#confirm-ok`)), chromedp.WaitNotVisible(chromedp.CSS(`#confirm`)))
		var l api.List
		await.Explain(t, 5*time.Second, "metadata in the API", func() (bool, string) {
			call(t, "GET", query(base, "/v1/instances", "service", "orders", "cluster", "canary"), "", nil, &l)
			return len(l.Instances) == 1 && len(l.Instances[0].Metadata) == 2 && l.Instances[0].Metadata["track"] == "canary" &&
				l.Instances[0].Metadata["owner"] == "team-a", fmt.Sprint(l.Instances)
		})
		pageShows(t, ctx, "page shows the metadata", instancesJS, func(got []instanceRow) string {
			return sameRows(got, wantInstances(t, base, "orders"), instanceKey)
		})
	})

	t.Run("protect threshold through the page", func(t *testing.T) {
		run(t, ctx, "threshold", chromedp.Click(chromedp.CSS(`#edit-threshold`)),
			chromedp.WaitVisible(chromedp.CSS(`#f-threshold`)), chromedp.SetValue(chromedp.CSS(`#f-threshold`), "0.6"),
			chromedp.Click(chromedp.CSS(`#confirm-ok`)), chromedp.WaitNotVisible(chromedp.CSS(`#confirm`)))
		var svc struct{ ProtectThreshold float64 }
		call(t, "GET", query(base, "/nacos/v1/ns/service", "serviceName", "orders"), "", nil, &svc)
		if svc.ProtectThreshold != 0.6 {
			t.Errorf("protect threshold in the API %v, want 0.6", svc.ProtectThreshold)
		}
		pageShows(t, ctx, "page shows 0.6", `document.querySelector('#svc-threshold').textContent`, func(got string) string {
			if got != "0.6" {
				return "shows " + got
			}
			return ""
		})
	})

	t.Run("service metadata through the page", func(t *testing.T) {
		run(t, ctx, "edit", chromedp.Click(chromedp.CSS(`#edit-svc-metadata`)),
			chromedp.WaitVisible(chromedp.CSS(`#f-metadata`)),
			js(`document.querySelector('#f-metadata').value = 'team=payments, core\ntier=1'`),
			chromedp.Click(chromedp.CSS(`#confirm-ok`)), chromedp.WaitNotVisible(chromedp.CSS(`#confirm`)))
		var svc struct{ Metadata map[string]string }
		call(t, "GET", query(base, "/nacos/v1/ns/service", "serviceName", "orders"), "", nil, &svc)
		if len(svc.Metadata) != 2 || svc.Metadata["team"] != "payments, core" || svc.Metadata["tier"] != "1" {
			t.Errorf("service metadata in the API %v, want team=payments, core and tier=1", svc.Metadata)
		}
		if got := value(t, ctx, "focus", chromedp.Evaluate[string](`document.activeElement.id`)); got != "edit-svc-metadata" {
			t.Errorf("after the dialog the focus is on %q, want the button that opened it", got)
		}
	})

	t.Run("instance filter", func(t *testing.T) {
		steps := []struct {
			filter string
			want   []string
		}{
			{"disabled", []string{"10.0.0.2:8080"}},
			{"zone=z3", []string{"10.0.0.3:8080"}},
			{"canary healthy", []string{"10.0.1.1:8080"}},
			{"10.0.0 enabled", []string{"10.0.0.1:8080", "10.0.0.3:8080"}},
			{"unhealthy", nil},
			{"", []string{"10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.3:8080", "10.0.1.1:8080"}}, // last: the later steps see every row
		}
		for _, step := range steps {
			filter, want := step.filter, step.want
			run(t, ctx, "filter "+filter, js(`(f => { f.value = `+strconv.Quote(filter)+`; f.dispatchEvent(new Event('input')); })(document.querySelector('#f-instances'))`))
			pageShows(t, ctx, "filter "+filter, instancesJS, func(got []instanceRow) string {
				var addrs []string
				for _, r := range got {
					addrs = append(addrs, r.Addr)
				}
				sort.Strings(addrs)
				if !slices.Equal(addrs, want) {
					return fmt.Sprintf("shows %v, want %v", addrs, want)
				}
				return ""
			})
		}
	})

	t.Run("deregister through the page", func(t *testing.T) {
		run(t, ctx, "deregister", chromedp.Click(chromedp.CSS(`button[aria-label="Deregister 10.0.1.1:8080"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#confirm-ok`)), chromedp.Click(chromedp.CSS(`#confirm-ok`)),
			chromedp.WaitNotVisible(chromedp.CSS(`#confirm`)))
		want := wantInstances(t, base, "orders")
		if len(want) != 3 {
			t.Errorf("the API lists %d instances after the deregistration, want 3", len(want))
		}
		pageShows(t, ctx, "page drops 10.0.1.1", instancesJS, func(got []instanceRow) string {
			return sameRows(got, want, instanceKey)
		})
	})

	t.Run("a bad weight is refused in place", func(t *testing.T) {
		run(t, ctx, "bad weight", chromedp.Click(chromedp.CSS(`button[aria-label="Weight 10.0.0.1:8080"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#f-weight`)), chromedp.SetValue(chromedp.CSS(`#f-weight`), "20000"),
			js(`document.querySelector('#confirm-form').requestSubmit()`),
			chromedp.WaitVisible(chromedp.CSS(`#confirm-error`)))
		msg := value(t, ctx, "error text", chromedp.Text(chromedp.CSS(`#confirm-error`)))
		if !strings.Contains(msg, "weight") {
			t.Errorf("dialog error %q does not name the weight", msg)
		}
		if w := *getInstance(t, base, "orders", "10.0.0.1", 8080).Weight; w != 1 {
			t.Errorf("weight after a refused change = %v, want 1", w)
		}
		run(t, ctx, "escape", chromedp.KeyEvent(kb.Escape), chromedp.WaitNotVisible(chromedp.CSS(`#confirm`)))
	})

	t.Run("cluster page matches the API", func(t *testing.T) {
		run(t, ctx, "open cluster", chromedp.Navigate(base+"/ui/#/cluster"),
			chromedp.WaitVisible(chromedp.CSS(`#members tbody tr[data-member]`)))
		var m api.Members
		call(t, "GET", base+"/v1/cluster/members", "", nil, &m)
		type memberRow struct{ Name, State, Partitions, Services string }
		var want []memberRow
		for _, x := range m.Members {
			want = append(want, memberRow{x.Name, "alive, ready", fmt.Sprintf("%d (%.1f%%)", x.Partitions, 100*float64(x.Partitions)/float64(m.Ring.Partitions)), strconv.Itoa(x.Services)})
		}
		pageShows(t, ctx, "members", `[...document.querySelectorAll('#members tbody tr[data-member]')].map(tr => ({
		  Name: tr.dataset.member, State: tr.querySelector('.state').textContent,
		  Partitions: tr.querySelector('.partitions').textContent, Services: tr.querySelector('.services').textContent}))`,
			func(got []memberRow) string {
				return sameRows(got, want, func(r memberRow) string { return fmt.Sprint(r) })
			})
		shot(t, ctx, "console-cluster.png")
	})

	t.Run("phone width", func(t *testing.T) {
		run(t, ctx, "narrow", chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile, chromedp.EmulateScale(1)),
			chromedp.Navigate(base+"/ui/#/service?service=orders"),
			chromedp.WaitVisible(chromedp.CSS(`#instances tbody tr[data-instance]`)))
		pageShows(t, ctx, "orders at 375 px", instancesJS, func(got []instanceRow) string {
			return sameRows(got, wantInstances(t, base, "orders"), instanceKey)
		})
		width := value(t, ctx, "width", chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
		if width > 375 {
			t.Errorf("the service page is %d px wide at a 375 px viewport: it scrolls sideways", width)
		}
		visible := value(t, ctx, "buttons", chromedp.Evaluate[bool](`(() => { const b = document.querySelector('button[aria-label="Weight 10.0.0.1:8080"]').getBoundingClientRect(); return b.width > 0 && b.right <= 375; })()`))
		if !visible {
			t.Error("the Weight button of 10.0.0.1:8080 is not inside the 375 px viewport")
		}
		shot(t, ctx, "console-phone.png")
		run(t, ctx, "wide again", chromedp.EmulateViewport(1280, 800))
	})

	t.Run("the page's ring hash is the server's", func(t *testing.T) {
		keys := []string{"", "a", "public##DEFAULT_GROUP@@orders", "ns-é##g@@" + strings.Repeat("x", 70)}
		got := value(t, ctx, "hash", chromedp.Evaluate[[]int](`import('/ui/js/ui.js').then(m => `+jsStrings(keys)+`.map(k => Number(m.xxhash64(k) % 4093n)))`,
			chromedp.EvalAwaitPromise))
		for i, k := range keys {
			if want := api.Partition(k, 4093); i >= len(got) || got[i] != want {
				t.Errorf("partition of %q: page %v, server %d", k, got, want)
			}
		}
	})
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

// TestConsole_login runs an agent with ACLs on for reads and writes: the
// console sends the browser to its login form, refuses a wrong password
// in place, logs in with the right one, keeps the token in the tab's
// sessionStorage only, and acts with it.
func TestConsole_login(t *testing.T) {
	a := agenttest.Start(t, func(c *agent.Config) {
		c.ACL.Users = map[string]string{"ops": "s3cret-pass"}
		c.ACL.Tokens = []string{"api-token"}
		c.ACL.Read = true
		c.GossipAddr = "" // one node, no cluster: no shared secret needed
	})
	base := agenttest.URL(a)
	register(t, base, "api-token", api.Instance{Service: "orders", IP: "10.0.0.1", Port: 8080})

	ctx := browser(t, 1280, 800)
	run(t, ctx, "open", chromedp.Navigate(base+"/ui/"), chromedp.WaitVisible(chromedp.CSS(`#login-user`)))
	run(t, ctx, "wrong password", chromedp.SendKeys(chromedp.CSS(`#login-user`), "ops"),
		chromedp.SendKeys(chromedp.CSS(`#login-pass`), "wrong"), chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`#login-error`)))
	if msg := value(t, ctx, "error", chromedp.Text(chromedp.CSS(`#login-error`))); !strings.Contains(msg, "wrong password") {
		t.Errorf("login error %q, want the server's reason", msg)
	}
	shot(t, ctx, "console-login.png")
	run(t, ctx, "right password", js(`document.querySelector("#login-pass").value = ""`),
		chromedp.SendKeys(chromedp.CSS(`#login-pass`), "s3cret-pass"), chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`#services tbody tr[data-service="orders"]`)))
	stored := value(t, ctx, "storage", chromedp.Evaluate[[]int](`[sessionStorage.length, localStorage.length, document.cookie.length]`))
	if !slices.Equal(stored, []int{1, 0, 0}) {
		t.Errorf("sessionStorage, localStorage and cookie lengths %v, want [1 0 0]: the token lives in the tab only", stored)
	}
	run(t, ctx, "disable", chromedp.Click(chromedp.CSS(`tr[data-service="orders"] a`)),
		chromedp.WaitVisible(chromedp.CSS(`button[aria-label="Disable 10.0.0.1:8080"]`)),
		chromedp.Click(chromedp.CSS(`button[aria-label="Disable 10.0.0.1:8080"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#confirm-ok`)), chromedp.Click(chromedp.CSS(`#confirm-ok`)),
		chromedp.WaitNotVisible(chromedp.CSS(`#confirm`)))
	await.True(t, 5*time.Second, "disabled in the API", func() bool {
		var in api.Instance
		call(t, "GET", query(base, "/v1/instance", "service", "orders", "ip", "10.0.0.1", "port", "8080"), "api-token", nil, &in)
		return !*in.Enabled
	})
	run(t, ctx, "log out", chromedp.Click(chromedp.CSS(`#logout`)), chromedp.WaitVisible(chromedp.CSS(`#login-user`)))
	if n := value(t, ctx, "storage", chromedp.Evaluate[int](`sessionStorage.length`)); n != 0 {
		t.Errorf("sessionStorage holds %d items after logging out, want 0", n)
	}
}

// TestConsole_writeNeedsToken runs an agent whose ACLs let reads pass: the
// pages load without a login, and a change without a token is refused in
// its dialog, naming the token, and changes nothing.
func TestConsole_writeNeedsToken(t *testing.T) {
	a := agenttest.Start(t, func(c *agent.Config) {
		c.ACL.Tokens = []string{"api-token"}
		c.GossipAddr = ""
	})
	base := agenttest.URL(a)
	register(t, base, "api-token", api.Instance{Service: "orders", IP: "10.0.0.1", Port: 8080})
	ctx := browser(t, 1280, 800)
	run(t, ctx, "try to disable", chromedp.Navigate(base+"/ui/#/service?service=orders"),
		chromedp.WaitVisible(chromedp.CSS(`button[aria-label="Disable 10.0.0.1:8080"]`)),
		chromedp.Click(chromedp.CSS(`button[aria-label="Disable 10.0.0.1:8080"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#confirm-ok`)), chromedp.Click(chromedp.CSS(`#confirm-ok`)),
		chromedp.WaitVisible(chromedp.CSS(`#confirm-error`)))
	if msg := value(t, ctx, "error", chromedp.Text(chromedp.CSS(`#confirm-error`))); !strings.Contains(msg, "token") || !strings.Contains(msg, "log in") {
		t.Errorf("dialog error %q, want the node's reason and a pointer to the login", msg)
	}
	if in := getInstance(t, base, "orders", "10.0.0.1", 8080); !*in.Enabled {
		t.Error("the refused change disabled the instance")
	}
	if hash := value(t, ctx, "hash", chromedp.Evaluate[string](`location.hash`)); !strings.HasPrefix(hash, "#/service") {
		t.Errorf("the page moved to %q; a refused change stays where it was made", hash)
	}
}
