package console_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/api"
	"github.com/roster-io/roster/door/gate"
)

// TestConsole_readOnlyUserSeesNoActions: a user whose role may only read
// logs in to the console and sees the service page without any action
// button; the admin's token in the same page gets them back.
func TestConsole_readOnlyUserSeesNoActions(t *testing.T) {
	a := agenttest.Start(t, func(c *agent.Config) {
		c.ACL = gate.ACLConfig{Tokens: []string{"api-token"}, TokenTTL: gate.DefaultTokenTTL, BcryptCost: 4}
		c.GossipAddr = ""
	})
	base := agenttest.URL(a)
	register(t, base, "api-token", api.Instance{Service: "orders", IP: "10.0.0.1", Port: 8080})
	call(t, "POST", query(base, "/nacos/v1/auth/users", "username", "viewer", "password", "viewer-pass"), "api-token", nil, nil)
	call(t, "POST", query(base, "/nacos/v1/auth/roles", "role", "readers", "username", "viewer"), "api-token", nil, nil)
	call(t, "POST", query(base, "/nacos/v1/auth/permissions", "role", "readers", "resource", "*:*:*", "action", "r"), "api-token", nil, nil)

	ctx := browser(t, 1280, 800)
	run(t, ctx, "log in as viewer", chromedp.Navigate(base+"/ui/#/login"), chromedp.WaitVisible(chromedp.CSS(`#login-user`)),
		chromedp.SendKeys(chromedp.CSS(`#login-user`), "viewer"), chromedp.SendKeys(chromedp.CSS(`#login-pass`), "viewer-pass"),
		chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS(`#services tbody tr[data-service="orders"]`)))
	run(t, ctx, "open the service", chromedp.Click(chromedp.CSS(`tr[data-service="orders"] a`)),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-instance="10.0.0.1:8080"] td.actions span.muted`)))
	buttons := value(t, ctx, "buttons", chromedp.Evaluate[int](`document.querySelectorAll("#instances button, #service-info button").length`))
	if buttons != 0 {
		t.Errorf("the read-only user sees %d action buttons, want none", buttons)
	}
	if txt := value(t, ctx, "actions cell", chromedp.Text(chromedp.CSS(`tr[data-instance="10.0.0.1:8080"] td.actions`))); !strings.Contains(txt, "read only") {
		t.Errorf("actions cell %q, want it to say read only", txt)
	}
	run(t, ctx, "the admin's token", js(`sessionStorage.setItem("roster.token", "api-token")`), chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS(`button[aria-label="Disable 10.0.0.1:8080"]`)))
	noFaults(t, ctx)
}
