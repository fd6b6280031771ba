package console_test

// The services page: its rows against the API, sorting, a live update, the
// namespace picker and the search.

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/roster-io/roster/api"
)

// servicesPageMatchesTheAPI: services page matches the API.
func (f *fixture) servicesPageMatchesTheAPI(t *testing.T) {
	want := wantServices(t, f.base, "public")
	pageShows(t, f.ctx, "services", servicesJS, func(got []serviceRow) string {
		return sameRows(got, want, func(r serviceRow) string { return fmt.Sprint(r) })
	})
	url := value(t, f.ctx, "url", chromedp.Location())
	if !strings.HasSuffix(url, "/ui/") {
		t.Errorf("/nacos/ led to %s, want the console at /ui/", url)
	}
}

// unhealthyFirst: unhealthy first.
func (f *fixture) unhealthyFirst(t *testing.T) {
	run(t, f.ctx, "sort", js(`(s => { s.value = 'unhealthy'; s.dispatchEvent(new Event('change')); })(document.querySelector('#f-sort'))`))
	pageShows(t, f.ctx, "search first", servicesJS, func(got []serviceRow) string {
		if len(got) == 0 || got[0].Service != "search" || got[0].Healthy != "1" || got[0].Total != "2" {
			return fmt.Sprintf("rows %v, want search (1 of 2 healthy) first", got)
		}
		return ""
	})
	shot(t, f.ctx, "console-services.png")
	run(t, f.ctx, "sort by name", js(`(s => { s.value = 'name'; s.dispatchEvent(new Event('change')); })(document.querySelector('#f-sort'))`))
}

// aRegistrationShowsWithoutReload: a registration shows without reload.
func (f *fixture) aRegistrationShowsWithoutReload(t *testing.T) {
	register(t, f.base, "", api.Instance{Service: "inventory", IP: "10.0.3.2", Port: 7000})
	pageShows(t, f.ctx, "inventory has 2 instances", servicesJS, func(got []serviceRow) string {
		for _, r := range got {
			if r.Service == "inventory" && r.Total == "2" && r.Healthy == "2" {
				return ""
			}
		}
		return fmt.Sprintf("rows %v", got)
	})
}

// namespacePickerAndSearch: namespace picker and search.
func (f *fixture) namespacePickerAndSearch(t *testing.T) {
	run(t, f.ctx, "pick staging", chromedp.SetValue(chromedp.CSS(`#f-namespace`), "staging"),
		js(`document.querySelector('#f-namespace').dispatchEvent(new Event('change'))`))
	want := wantServices(t, f.base, "staging")
	pageShows(t, f.ctx, "staging services", servicesJS, func(got []serviceRow) string {
		return sameRows(got, want, func(r serviceRow) string { return fmt.Sprint(r) })
	})
	run(t, f.ctx, "back to public", chromedp.Navigate(f.base+"/ui/#/services?q=pay"))
	pageShows(t, f.ctx, "search pay", servicesJS, func(got []serviceRow) string {
		if len(got) != 1 || got[0].Service != "payments" {
			return fmt.Sprintf("rows %v, want payments alone", got)
		}
		return ""
	})
}
