package console_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/roster-io/roster/internal/await"
)

var screenshots = flag.String("screenshots", "", "write the console's screenshots (PNG) to this `directory`")

// chromiumPath finds the browser: $ROSTER_CHROMIUM or one on the PATH.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("ROSTER_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no chromium on the PATH (apt-get install chromium, or set ROSTER_CHROMIUM); .ci/run installs it")
	return ""
}

// chromium is the one browser the tests share, started by the first
// test that needs it; each test gets a tab of its own. TestMain stops it.
var chromium struct {
	once   sync.Once
	ctx    context.Context // the browser's context; tabs derive from it
	cancel func()
	err    error
}

// TestMain runs the tests and then stops the shared browser.
func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if chromium.cancel != nil {
		chromium.cancel()
	}
	os.Exit(code)
}

// startChromium starts the headless browser with its own profile
// directory. chromedp starts the process and kills it (by its PID) when
// its context is cancelled.
func startChromium(path string) {
	dir, err := os.MkdirTemp("", "roster-console-chromium-")
	if err != nil {
		chromium.err = err
		return
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(dir),
		// Its singleton lock and shared memory files go under TMPDIR:
		// into the profile directory, which is removed at the end.
		chromedp.Env("TMPDIR=" + dir),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	chromium.ctx = ctx
	chromium.cancel = func() {
		cancel()
		cancelAlloc()
		_ = os.RemoveAll(dir)
	}
	chromium.err = chromedp.Do(ctx) // starts the browser
}

// browser returns a new tab of the shared browser with a width × height
// viewport, closed when the test ends.
func browser(t *testing.T, width, height int) context.Context {
	t.Helper()
	path := chromiumPath(t)
	chromium.once.Do(func() { startChromium(path) })
	if chromium.err != nil {
		t.Fatalf("start chromium: %v", chromium.err)
	}
	ctx, cancel := chromedp.NewContext(chromium.ctx)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(width), int64(height))); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	return ctx
}

// run runs browser actions in order, with a deadline.
func run(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Do(c, actions...); err != nil {
		t.Fatalf("%s: %v; the page: %s", what, err, pageState(ctx))
	}
}

// pageState describes the page for a failure message: its address, the
// focused element, whether the dialog is open and any error shown.
func pageState(ctx context.Context) string {
	s, err := eval[string](ctx, `JSON.stringify({hash: location.hash, focus: document.activeElement && document.activeElement.outerHTML.slice(0, 120),
	  dialog: document.querySelector('#confirm').open, errors: [...document.querySelectorAll('.error')].map(e => e.textContent).filter(Boolean),
	  threshold: document.querySelector('#edit-threshold') && document.querySelector('#edit-threshold').outerHTML})`)
	if err != nil {
		return "unknown: " + err.Error()
	}
	return s
}

// value runs one browser action that returns a value, with a deadline.
func value[T any](t *testing.T, ctx context.Context, what string, action chromedp.Action[T]) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, action)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// eval evaluates a JavaScript expression in the page, awaiting a promise,
// and decodes its value.
func eval[T any](ctx context.Context, expr string) (T, error) {
	c, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return chromedp.Run(c, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

// js is an action that evaluates expr and ignores its value.
func js(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Evaluate[any](expr, chromedp.EvalAwaitPromise)(ctx, tg)
		return err
	})
}

// pageShows polls the page until check, given the value of expr, reports
// nothing wrong, and fails the test with the last complaint otherwise.
func pageShows[T any](t *testing.T, ctx context.Context, what, expr string, check func(T) string) T {
	t.Helper()
	var got T
	await.Explain(t, 8*time.Second, what, func() (bool, string) {
		v, err := eval[T](ctx, expr)
		if err != nil {
			return false, err.Error()
		}
		got = v
		last := check(v)
		return last == "", last
	})
	return got
}

// shot saves a screenshot of the viewport as name under -screenshots.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if *screenshots == "" {
		return
	}
	png := value(t, ctx, "screenshot "+name, chromedp.CaptureScreenshot())
	if err := os.WriteFile(filepath.Join(*screenshots, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

var httpc = &http.Client{Timeout: 5 * time.Second}

// call sends one API request (body as JSON) with an optional token and
// decodes a 2xx JSON answer into out.
func call(t *testing.T, method, u, token string, body, out any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, u, r)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := httpc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %d %s", method, u, res.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, u, err, b)
		}
	}
}

// query builds a URL.
func query(base, path string, kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	return fmt.Sprintf("%s%s?%s", base, path, q.Encode())
}
