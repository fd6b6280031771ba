package agent_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roster-io/roster/api"
)

func TestNative_registerBeatListDeregister(t *testing.T) {
	_, base := startNode(t)
	const reg = `{"service":"api","ip":"10.0.0.1","port":9000,"weight":3,"metadata":{"v":"1"},"beatIntervalMs":200,"beatTimeoutMs":600,"deleteTimeoutMs":1200}`
	code, body := do(t, http.MethodPost, base+"/v1/instance", "application/json", reg)
	if code != 200 || !strings.Contains(body, `"instanceId":"10.0.0.1#9000#DEFAULT#DEFAULT_GROUP@@api"`) || !strings.Contains(body, `"beatTimeoutMs":600`) {
		t.Fatalf("register: got %d %s", code, body)
	}
	code, body = do(t, http.MethodPut, base+"/v1/instance/beat", "application/json", `{"service":"api","ip":"10.0.0.1","port":9000}`)
	if code != 200 || body != `{"beatIntervalMs":200}` {
		t.Fatalf("beat: got %d %s", code, body)
	}
	code, body = do(t, http.MethodPut, base+"/v1/instance/beat", "application/json", `{"service":"api","ip":"10.0.0.2","port":9000}`)
	if code != http.StatusNotFound {
		t.Fatalf("beat unknown: got %d %s, want 404", code, body)
	}
	code, body = do(t, http.MethodPut, base+"/v1/instance/beat", "application/json",
		`{"service":"api","ip":"10.0.0.2","port":9000,"instance":{"service":"api","ip":"10.0.0.2","port":9000}}`)
	if code != 200 {
		t.Fatalf("beat re-registering: got %d %s", code, body)
	}
	var l nativeListBody
	code, body = do(t, http.MethodGet, base+"/v1/instances?service=api", "", "")
	mustJSON(t, body, &l)
	if code != 200 || len(l.Instances) != 2 || l.Index == 0 {
		t.Fatalf("list: got %d %s", code, body)
	}
	code, body = do(t, http.MethodGet, base+"/v1/instance?service=api&ip=10.0.0.1&port=9000", "", "")
	if code != 200 || !strings.Contains(body, `"weight":3`) {
		t.Fatalf("get: got %d %s", code, body)
	}
	code, body = do(t, http.MethodGet, base+"/v1/services", "", "")
	if code != 200 || !strings.Contains(body, `{"group":"DEFAULT_GROUP","service":"api","instances":2,"healthy":2}`) {
		t.Fatalf("services: got %d %s", code, body)
	}
	code, body = do(t, http.MethodDelete, base+"/v1/instance?service=api&ip=10.0.0.1&port=9000", "", "")
	if code != 200 || !strings.Contains(body, `"found":true`) {
		t.Fatalf("deregister: got %d %s", code, body)
	}
	code, body = do(t, http.MethodDelete, base+"/v1/instance?service=api&ip=10.0.0.1&port=9000", "", "")
	if code != 200 || !strings.Contains(body, `"found":false`) {
		t.Fatalf("second deregister: got %d %s, want 200 with found false", code, body)
	}
}

// TestNative_blockingQuery checks that a list with ?index=N waits for the
// next change and answers at once when it comes, with the new index.
func TestNative_blockingQuery(t *testing.T) {
	_, base := startNode(t)
	do(t, http.MethodPost, base+"/v1/instance", "application/json", `{"service":"w","ip":"10.0.0.1","port":1}`)
	resp, err := http.Get(base + "/v1/instances?service=w")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	idx, err := strconv.ParseUint(resp.Header.Get(api.IndexHeader), 10, 64)
	if err != nil || idx == 0 {
		t.Fatalf("index header %q: %v", resp.Header.Get(api.IndexHeader), err)
	}
	type result struct {
		code    int
		body    string
		elapsed time.Duration
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		resp, err := http.Get(base + "/v1/instances?service=w&wait=20s&index=" + strconv.FormatUint(idx, 10))
		if err != nil {
			done <- result{code: -1, body: err.Error()}
			return
		}
		defer resp.Body.Close()
		var sb strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			sb.Write(buf[:n])
			if err != nil {
				break
			}
		}
		done <- result{resp.StatusCode, sb.String(), time.Since(start)}
	}()
	// A change to another service must not wake the watcher with an answer.
	do(t, http.MethodPost, base+"/v1/instance", "application/json", `{"service":"other","ip":"10.0.0.1","port":1}`)
	select {
	case r := <-done:
		t.Fatalf("watcher answered before its service changed: %+v", r)
	case <-time.After(200 * time.Millisecond):
	}
	do(t, http.MethodPost, base+"/v1/instance", "application/json", `{"service":"w","ip":"10.0.0.2","port":1}`)
	select {
	case r := <-done:
		if r.code != 200 || !strings.Contains(r.body, "10.0.0.2") {
			t.Fatalf("watcher: got %d %s", r.code, r.body)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("watcher not woken by the change")
	}

	// A wait that elapses answers the unchanged list.
	start = time.Now()
	code, _ := do(t, http.MethodGet, base+"/v1/instances?service=w&wait=100ms&index=999999", "", "")
	if el := time.Since(start); code != 200 || el < 100*time.Millisecond || el > 3*time.Second {
		t.Fatalf("elapsed wait: got %d after %v", code, el)
	}
}

// TestNative_watchMissingService checks a watcher of a service that does
// not exist yet wakes when it is created.
func TestNative_watchMissingService(t *testing.T) {
	_, base := startNode(t)
	done := make(chan string, 1)
	go func() {
		resp, err := http.Get(base + "/v1/instances?service=later&index=1&wait=10s")
		if err != nil {
			done <- err.Error()
			return
		}
		defer resp.Body.Close()
		done <- resp.Header.Get(api.IndexHeader)
	}()
	time.Sleep(50 * time.Millisecond) // let the watcher block first; the test passes either way
	do(t, http.MethodPost, base+"/v1/instance", "application/json", `{"service":"unrelated","ip":"10.0.0.1","port":1}`)
	do(t, http.MethodPost, base+"/v1/instance", "application/json", `{"service":"later","ip":"10.0.0.1","port":1}`)
	select {
	case idx := <-done:
		if n, err := strconv.Atoi(idx); err != nil || n < 2 {
			t.Fatalf("index header %q", idx)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("watcher of a missing service not woken")
	}
}

// TestReadyAndHealth checks the probes.
func TestReadyAndHealth(t *testing.T) {
	n, base := startNode(t)
	if code, body := do(t, http.MethodGet, base+"/healthz", "", ""); code != 200 || body != "ok" {
		t.Fatalf("healthz: %d %s", code, body)
	}
	if code, _ := do(t, http.MethodGet, base+"/readyz", "", ""); code != 200 {
		t.Fatalf("readyz: %d", code)
	}
	n.Node().SetStateForTesting(false, false)
	if code, _ := do(t, http.MethodGet, base+"/readyz", "", ""); code != http.StatusServiceUnavailable {
		t.Fatalf("readyz when not ready: %d", code)
	}
}

// TestShutdown_releasesWatchers checks a blocking query does not hold up
// a graceful shutdown.
func TestShutdown_releasesWatchers(t *testing.T) {
	n, base := startNode(t)
	do(t, http.MethodPost, base+"/v1/instance", "application/json", `{"service":"w","ip":"10.0.0.1","port":1}`)
	done := make(chan int, 1)
	go func() {
		resp, err := http.Get(base + "/v1/instances?service=w&index=999999&wait=60s")
		if err != nil {
			done <- -1
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	time.Sleep(100 * time.Millisecond) // let the watcher block; if it has not, the test still holds
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("shutdown took %v with a watcher waiting", el)
	}
	select {
	case code := <-done:
		if code != 200 {
			t.Fatalf("watcher got %d, want 200", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("watcher not released")
	}
}

// TestNative_invalidUTF8Refused: a JSON body with bytes that are not UTF-8
// is refused with 400 naming the body, as the Nacos API refuses such
// parameters, instead of being stored with U+FFFD in their place.
func TestNative_invalidUTF8Refused(t *testing.T) {
	n, base := startNode(t)
	before := n.Node().Store().Index()
	body := "{\"service\":\"utf\",\"ip\":\"10.0.0.1\",\"port\":80,\"metadata\":{\"k\":\"a\xffb\"}}"
	code, resp := do(t, http.MethodPost, base+"/v1/instance", "application/json", body)
	if code != http.StatusBadRequest || !strings.Contains(resp, "UTF-8") {
		t.Fatalf("invalid UTF-8 body: got %d %s, want 400 naming UTF-8", code, resp)
	}
	if n.Node().Store().Index() != before {
		t.Fatal("a refused body changed the registry")
	}
}
