package console_test

// The service page: its rows against the API, the skip link, the keyboard,
// the focus across live updates, a weight, the owner's beat times and the
// instance filter.

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/api"
	"github.com/roster-io/roster/internal/await"
)

// servicePageMatchesTheAPI: service page matches the API.
func (f *fixture) servicePageMatchesTheAPI(t *testing.T) {
	run(t, f.ctx, "open orders", chromedp.Navigate(f.base+"/ui/#/services"),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-service="orders"] a`)),
		chromedp.Click(chromedp.CSS(`tr[data-service="orders"] a`)),
		chromedp.WaitVisible(chromedp.CSS(`#instances tbody tr[data-instance]`)))
	want := wantInstances(t, f.base, "orders")
	rows := pageShows(t, f.ctx, "orders instances", instancesJS, func(got []instanceRow) string {
		return sameRows(got, want, instanceKey)
	})
	var owner api.Owner
	call(t, "GET", query(f.base, "/v1/cluster/owner", "service", "orders"), "", nil, &owner)
	// n0 asks the owner for its beat times when it does not own orders.
	var lb api.LastBeats
	call(t, "GET", query(f.base, "/v1/instances/beats", "service", "orders"), "", nil, &lb)
	if !lb.Owner || lb.From != owner.Owner || len(lb.Instances) != len(rows) {
		t.Errorf("GET /v1/instances/beats on n0: owner %v from %q with %d instances (%s), want %s's %d",
			lb.Owner, lb.From, len(lb.Instances), lb.OwnerError, owner.Owner, len(rows))
	}
	for _, r := range rows {
		if !strings.HasSuffix(r.Beat, " ago") {
			t.Errorf("%s: last beat %q, want a time ago", r.Addr, r.Beat)
		}
	}
	shownOwner := value(t, f.ctx, "owner", chromedp.Text(chromedp.CSS(`#svc-owner`)))
	if !strings.HasPrefix(shownOwner, owner.Owner) {
		t.Errorf("service page names owner %q, API %q", shownOwner, owner.Owner)
	}
}

// theSkipLinkKeepsThePage: the skip link keeps the page.
func (f *fixture) theSkipLinkKeepsThePage(t *testing.T) {
	run(t, f.ctx, "skip", chromedp.Focus(chromedp.CSS(`.skip`)), chromedp.KeyEvent(kb.Enter))
	got := value(t, f.ctx, "focus", chromedp.Evaluate[[]string](`[document.activeElement.id, location.hash]`))
	if len(got) != 2 || got[0] != "main" || !strings.HasPrefix(got[1], "#/service?") {
		t.Errorf("after the skip link: focus on %q at %q, want main on the service page", got[0], got[1])
	}
}

// disableByKeyboard: disable by keyboard.
func (f *fixture) disableByKeyboard(t *testing.T) {
	run(t, f.ctx, "open the dialog", chromedp.Focus(chromedp.CSS(`button[aria-label="Disable 10.0.0.2:8080"]`)),
		chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS(`#confirm`)))
	focused := value(t, f.ctx, "focus", chromedp.Evaluate[string](`document.activeElement.id`))
	if focused != "confirm-ok" {
		t.Errorf("focus in the dialog is on %q, want the confirm button", focused)
	}
	run(t, f.ctx, "confirm", chromedp.KeyEvent(kb.Enter), chromedp.WaitNotVisible(chromedp.CSS(`#confirm`)))
	await.True(t, 5*time.Second, "10.0.0.2 disabled in the API", func() bool {
		return !*getInstance(t, f.base, "orders", "10.0.0.2", 8080).Enabled
	})
	pageShows(t, f.ctx, "page shows disabled", instancesJS, func(got []instanceRow) string {
		return sameRows(got, wantInstances(t, f.base, "orders"), instanceKey)
	})
}

// theFocusSurvivesALiveUpdate: the focus survives a live update.
func (f *fixture) theFocusSurvivesALiveUpdate(t *testing.T) {
	run(t, f.ctx, "focus", chromedp.Focus(chromedp.CSS(`button[aria-label="Weight 10.0.0.1:8080"]`)))
	register(t, f.base, "", api.Instance{Service: "orders", Cluster: "canary", IP: "10.0.1.2", Port: 8080})
	pageShows(t, f.ctx, "the new instance", instancesJS, func(got []instanceRow) string {
		return sameRows(got, wantInstances(t, f.base, "orders"), instanceKey)
	})
	if got := value(t, f.ctx, "focus", chromedp.Evaluate[string](`document.activeElement.getAttribute('aria-label')`)); got != "Weight 10.0.0.1:8080" {
		t.Errorf("after the live update the focus is on %q, want the same button", got)
	}
	call(t, "DELETE", query(f.base, "/v1/instance", "service", "orders", "cluster", "canary", "ip", "10.0.1.2", "port", "8080"), "", nil, nil)
}

// weightThroughThePage: weight through the page.
func (f *fixture) weightThroughThePage(t *testing.T) {
	run(t, f.ctx, "set weight", chromedp.Click(chromedp.CSS(`button[aria-label="Weight 10.0.0.3:8080"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#f-weight`)), chromedp.SetValue(chromedp.CSS(`#f-weight`), "7"),
		chromedp.Click(chromedp.CSS(`#confirm-ok`)), chromedp.WaitNotVisible(chromedp.CSS(`#confirm`)))
	await.True(t, 5*time.Second, "weight 7 in the API", func() bool {
		return *getInstance(t, f.base, "orders", "10.0.0.3", 8080).Weight == 7
	})
	pageShows(t, f.ctx, "page shows weight 7", instancesJS, func(got []instanceRow) string {
		return sameRows(got, wantInstances(t, f.base, "orders"), instanceKey)
	})
}

// theOwnersConsoleShowsBeatTimes: the owner's console shows beat times.
func (f *fixture) theOwnersConsoleShowsBeatTimes(t *testing.T) {
	var owner api.Owner
	call(t, "GET", query(f.base, "/v1/cluster/owner", "service", "orders"), "", nil, &owner)
	ownerBase := agenttest.URL(f.c.Agent(owner.Owner))
	call(t, "PUT", ownerBase+"/v1/instance/beat", "", api.Instance{Service: "orders", IP: "10.0.0.1", Port: 8080}, nil)
	// (a beat, so the times differ: the others were last heard at
	// their registration or update)
	run(t, f.ctx, "open the owner's console", chromedp.Navigate(ownerBase+"/ui/#/service?service=orders"),
		chromedp.WaitVisible(chromedp.CSS(`#instances tbody tr[data-instance]`)))
	pageShows(t, f.ctx, "beat times", instancesJS, func(got []instanceRow) string {
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
	shot(t, f.ctx, "console-service.png")
}

// instanceFilter: instance filter.
func (f *fixture) instanceFilter(t *testing.T) {
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
		run(t, f.ctx, "filter "+filter, js(`(f => { f.value = `+strconv.Quote(filter)+`; f.dispatchEvent(new Event('input')); })(document.querySelector('#f-instances'))`))
		pageShows(t, f.ctx, "filter "+filter, instancesJS, func(got []instanceRow) string {
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
}
