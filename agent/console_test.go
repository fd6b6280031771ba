package agent_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/roster-io/roster/agent"
)

// serveUI sends one request to an agent's handler in-process.
func serveUI(a *agent.Agent, method, path string, header http.Header) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, nil)
	for k, v := range header {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	a.Handler().ServeHTTP(w, r)
	return w
}

// TestConsole_files checks what the console's routes answer: its files
// with their types and a Content-Security-Policy that keeps them to the
// node, revalidation by ETag, the redirects to /ui/, and 404 for a file it
// does not have.
func TestConsole_files(t *testing.T) {
	a := inProcess(t, true)
	w := serveUI(a, "GET", "/ui/", nil)
	body, _ := io.ReadAll(w.Body)
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") || !strings.Contains(string(body), `src="/ui/js/app.js"`) {
		t.Fatalf("GET /ui/: %d %s %.80q", w.Code, w.Header().Get("Content-Type"), body)
	}
	csp := w.Header().Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	if w.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("X-Content-Type-Options %q, want nosniff", w.Header().Get("X-Content-Type-Options"))
	}
	etag := w.Header().Get("ETag")
	if w := serveUI(a, "GET", "/ui/", http.Header{"If-None-Match": {etag}}); etag == "" || w.Code != http.StatusNotModified {
		t.Errorf("GET /ui/ with If-None-Match %s: %d, want 304", etag, w.Code)
	}
	for path, ctype := range map[string]string{"/ui/js/app.js": "text/javascript", "/ui/style.css": "text/css",
		"/ui/index.html": "text/html", "/ui/services": "text/html"} {
		if w := serveUI(a, "GET", path, nil); w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), ctype) {
			t.Errorf("GET %s: %d %q, want 200 %s", path, w.Code, w.Header().Get("Content-Type"), ctype)
		}
	}
	for _, path := range []string{"/ui/js/nope.js", "/ui/../go.mod", "/ui/static/index.html.bak"} {
		if w := serveUI(a, "GET", path, nil); w.Code == http.StatusOK {
			t.Errorf("GET %s: 200, want no file", path)
		}
	}
	for _, path := range []string{"/", "/ui", "/nacos", "/nacos/"} {
		if w := serveUI(a, "GET", path, nil); w.Code != http.StatusFound || w.Header().Get("Location") != "/ui/" {
			t.Errorf("GET %s: %d to %q, want 302 to /ui/", path, w.Code, w.Header().Get("Location"))
		}
	}
	if w := serveUI(a, "GET", "/nacos/v1/unknown", nil); w.Code != http.StatusNotFound {
		t.Errorf("GET /nacos/v1/unknown: %d, want 404 (only /nacos/ itself redirects)", w.Code)
	}
	if w := serveUI(a, "POST", "/ui/", nil); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /ui/: %d, want 405", w.Code)
	}
}

// TestConsole_gate checks that with ACLs on for reads the console's files
// need no token while the API calls its pages make do, that the files are
// served while the node syncs, and that --ui=false turns the console off.
func TestConsole_gate(t *testing.T) {
	acl := func(c *agent.Config) {
		c.ACL.Tokens = []string{"tok"}
		c.ACL.Read = true
		c.GossipAddr = "" // alone: ACLs need no cluster secret
	}
	a := inProcess(t, false, acl)
	if w := serveUI(a, "GET", "/ui/", nil); w.Code != 200 {
		t.Errorf("GET /ui/ without a token while syncing: %d, want 200", w.Code)
	}
	if w := serveUI(a, "GET", "/", nil); w.Code != http.StatusFound {
		t.Errorf("GET / without a token while syncing: %d, want 302", w.Code)
	}
	a = inProcess(t, true, acl)
	if w := serveUI(a, "GET", "/v1/services", nil); w.Code != http.StatusUnauthorized {
		t.Errorf("GET /v1/services without a token: %d, want 401", w.Code)
	}
	if w := serveUI(a, "GET", "/v1/services", http.Header{"Authorization": {"Bearer tok"}}); w.Code != 200 {
		t.Errorf("GET /v1/services with the token: %d, want 200", w.Code)
	}
	off := inProcess(t, true, func(c *agent.Config) { c.NoUI = true })
	for _, path := range []string{"/ui/", "/"} {
		if w := serveUI(off, "GET", path, nil); w.Code != http.StatusNotFound {
			t.Errorf("GET %s with the console off: %d, want 404", path, w.Code)
		}
	}
}
