package console_test

// The cluster page, the phone width and the ring hash.

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/roster-io/roster/api"
)

// clusterPageMatchesTheAPI: cluster page matches the API.
func (f *fixture) clusterPageMatchesTheAPI(t *testing.T) {
	run(t, f.ctx, "open cluster", chromedp.Navigate(f.base+"/ui/#/cluster"),
		chromedp.WaitVisible(chromedp.CSS(`#members tbody tr[data-member]`)))
	var m api.Members
	call(t, "GET", f.base+"/v1/cluster/members", "", nil, &m)
	type memberRow struct{ Name, State, Partitions, Services string }
	var want []memberRow
	for _, x := range m.Members {
		want = append(want, memberRow{x.Name, "alive, ready", fmt.Sprintf("%d (%.1f%%)", x.Partitions, 100*float64(x.Partitions)/float64(m.Ring.Partitions)), strconv.Itoa(x.Services)})
	}
	pageShows(t, f.ctx, "members", `[...document.querySelectorAll('#members tbody tr[data-member]')].map(tr => ({
	  Name: tr.dataset.member, State: tr.querySelector('.state').textContent,
	  Partitions: tr.querySelector('.partitions').textContent, Services: tr.querySelector('.services').textContent}))`,
		func(got []memberRow) string {
			return sameRows(got, want, func(r memberRow) string { return fmt.Sprint(r) })
		})
	shot(t, f.ctx, "console-cluster.png")
}

// phoneWidth: phone width.
func (f *fixture) phoneWidth(t *testing.T) {
	run(t, f.ctx, "narrow", chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile, chromedp.EmulateScale(1)),
		chromedp.Navigate(f.base+"/ui/#/service?service=orders"),
		chromedp.WaitVisible(chromedp.CSS(`#instances tbody tr[data-instance]`)))
	pageShows(t, f.ctx, "orders at 375 px", instancesJS, func(got []instanceRow) string {
		return sameRows(got, wantInstances(t, f.base, "orders"), instanceKey)
	})
	width := value(t, f.ctx, "width", chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	if width > 375 {
		t.Errorf("the service page is %d px wide at a 375 px viewport: it scrolls sideways", width)
	}
	visible := value(t, f.ctx, "buttons", chromedp.Evaluate[bool](`(() => { const b = document.querySelector('button[aria-label="Weight 10.0.0.1:8080"]').getBoundingClientRect(); return b.width > 0 && b.right <= 375; })()`))
	if !visible {
		t.Error("the Weight button of 10.0.0.1:8080 is not inside the 375 px viewport")
	}
	shot(t, f.ctx, "console-phone.png")
	run(t, f.ctx, "wide again", chromedp.EmulateViewport(1280, 800))
}

// thePagesRingHashIsTheServers: the page's ring hash is the server's.
func (f *fixture) thePagesRingHashIsTheServers(t *testing.T) {
	keys := []string{"", "a", "public##DEFAULT_GROUP@@orders", "ns-é##g@@" + strings.Repeat("x", 70)}
	got := value(t, f.ctx, "hash", chromedp.Evaluate[[]int](`import('/ui/js/ui.js').then(m => `+jsStrings(keys)+`.map(k => Number(m.xxhash64(k) % 4093n)))`,
		chromedp.EvalAwaitPromise))
	for i, k := range keys {
		if want := api.Partition(k, 4093); i >= len(got) || got[i] != want {
			t.Errorf("partition of %q: page %v, server %d", k, got, want)
		}
	}
}
