package console_test

// The service page's other actions: metadata, protect threshold, service
// metadata, deregistration, and a refused change.

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/roster-io/roster/api"
	"github.com/roster-io/roster/internal/await"
)

// metadataThroughThePage: metadata through the page.
func (f *fixture) metadataThroughThePage(t *testing.T) {
	run(t, f.ctx, "edit metadata", chromedp.Click(chromedp.CSS(`button[aria-label="Metadata 10.0.1.1:8080"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#f-metadata`)),
		js(`document.querySelector('#f-metadata').value = 'track=canary\nowner=team-a'`),
		chromedp.Click(chromedp.CSS(`#confirm-ok`)), chromedp.WaitNotVisible(chromedp.CSS(`#confirm`)))
	var l api.List
	await.Explain(t, 5*time.Second, "metadata in the API", func() (bool, string) {
		call(t, "GET", query(f.base, "/v1/instances", "service", "orders", "cluster", "canary"), "", nil, &l)
		return len(l.Instances) == 1 && len(l.Instances[0].Metadata) == 2 && l.Instances[0].Metadata["track"] == "canary" &&
			l.Instances[0].Metadata["owner"] == "team-a", fmt.Sprint(l.Instances)
	})
	pageShows(t, f.ctx, "page shows the metadata", instancesJS, func(got []instanceRow) string {
		return sameRows(got, wantInstances(t, f.base, "orders"), instanceKey)
	})
}

// protectThresholdThroughThePage: protect threshold through the page.
func (f *fixture) protectThresholdThroughThePage(t *testing.T) {
	run(t, f.ctx, "threshold", chromedp.Click(chromedp.CSS(`#edit-threshold`)),
		chromedp.WaitVisible(chromedp.CSS(`#f-threshold`)), chromedp.SetValue(chromedp.CSS(`#f-threshold`), "0.6"),
		chromedp.Click(chromedp.CSS(`#confirm-ok`)), chromedp.WaitNotVisible(chromedp.CSS(`#confirm`)))
	var svc struct{ ProtectThreshold float64 }
	call(t, "GET", query(f.base, "/nacos/v1/ns/service", "serviceName", "orders"), "", nil, &svc)
	if svc.ProtectThreshold != 0.6 {
		t.Errorf("protect threshold in the API %v, want 0.6", svc.ProtectThreshold)
	}
	pageShows(t, f.ctx, "page shows 0.6", `document.querySelector('#svc-threshold').textContent`, func(got string) string {
		if got != "0.6" {
			return "shows " + got
		}
		return ""
	})
}

// serviceMetadataThroughThePage: service metadata through the page.
func (f *fixture) serviceMetadataThroughThePage(t *testing.T) {
	run(t, f.ctx, "edit", chromedp.Click(chromedp.CSS(`#edit-svc-metadata`)),
		chromedp.WaitVisible(chromedp.CSS(`#f-metadata`)),
		js(`document.querySelector('#f-metadata').value = 'team=payments, core\ntier=1'`),
		chromedp.Click(chromedp.CSS(`#confirm-ok`)), chromedp.WaitNotVisible(chromedp.CSS(`#confirm`)))
	var svc struct{ Metadata map[string]string }
	call(t, "GET", query(f.base, "/nacos/v1/ns/service", "serviceName", "orders"), "", nil, &svc)
	if len(svc.Metadata) != 2 || svc.Metadata["team"] != "payments, core" || svc.Metadata["tier"] != "1" {
		t.Errorf("service metadata in the API %v, want team=payments, core and tier=1", svc.Metadata)
	}
	if got := value(t, f.ctx, "focus", chromedp.Evaluate[string](`document.activeElement.id`)); got != "edit-svc-metadata" {
		t.Errorf("after the dialog the focus is on %q, want the button that opened it", got)
	}
}

// deregisterThroughThePage: deregister through the page.
func (f *fixture) deregisterThroughThePage(t *testing.T) {
	run(t, f.ctx, "deregister", chromedp.Click(chromedp.CSS(`button[aria-label="Deregister 10.0.1.1:8080"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#confirm-ok`)), chromedp.Click(chromedp.CSS(`#confirm-ok`)),
		chromedp.WaitNotVisible(chromedp.CSS(`#confirm`)))
	want := wantInstances(t, f.base, "orders")
	if len(want) != 3 {
		t.Errorf("the API lists %d instances after the deregistration, want 3", len(want))
	}
	pageShows(t, f.ctx, "page drops 10.0.1.1", instancesJS, func(got []instanceRow) string {
		return sameRows(got, want, instanceKey)
	})
}

// aBadWeightIsRefusedInPlace: a bad weight is refused in place.
func (f *fixture) aBadWeightIsRefusedInPlace(t *testing.T) {
	run(t, f.ctx, "bad weight", chromedp.Click(chromedp.CSS(`button[aria-label="Weight 10.0.0.1:8080"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#f-weight`)), chromedp.SetValue(chromedp.CSS(`#f-weight`), "20000"),
		js(`document.querySelector('#confirm-form').requestSubmit()`),
		chromedp.WaitVisible(chromedp.CSS(`#confirm-error`)))
	msg := value(t, f.ctx, "error text", chromedp.Text(chromedp.CSS(`#confirm-error`)))
	if !strings.Contains(msg, "weight") {
		t.Errorf("dialog error %q does not name the weight", msg)
	}
	if w := *getInstance(t, f.base, "orders", "10.0.0.1", 8080).Weight; w != 1 {
		t.Errorf("weight after a refused change = %v, want 1", w)
	}
	run(t, f.ctx, "escape", chromedp.KeyEvent(kb.Escape), chromedp.WaitNotVisible(chromedp.CSS(`#confirm`)))
}
