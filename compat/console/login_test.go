package console_test

import (
	"slices"
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
	noFaults(t, ctx)
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
