package cli

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

const patchAnswer = `{"index":7,"instance":{"service":"svc","cluster":"DEFAULT","ip":"10.0.0.1","port":8080,"weight":3,` +
	`"healthy":true,"enabled":false,"ephemeral":true,"metadata":{"zone":"a"}}}`

// TestInstance_requests checks the PATCH each subcommand sends.
func TestInstance_requests(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantBody string
	}{
		{"enable", []string{"enable"}, `{"service":"svc","ip":"10.0.0.1","port":8080,"enabled":true}`},
		{"disable", []string{"disable", "--group", "G", "--namespace", "ns", "--cluster", "c1"},
			`{"namespace":"ns","group":"G","service":"svc","cluster":"c1","ip":"10.0.0.1","port":8080,"enabled":false}`},
		{"weight", []string{"weight", "--weight", "3"}, `{"service":"svc","ip":"10.0.0.1","port":8080,"weight":3}`},
		{"weight 0", []string{"weight", "-w", "0"}, `{"service":"svc","ip":"10.0.0.1","port":8080,"weight":0}`},
		{"metadata replace", []string{"metadata", "--replace", "--set", "zone=a", "--set", "v=1=2"},
			`{"service":"svc","ip":"10.0.0.1","port":8080,"metadata":{"v":"1=2","zone":"a"}}`},
		{"metadata replace with nothing", []string{"metadata", "--replace"},
			`{"service":"svc","ip":"10.0.0.1","port":8080,"metadata":{}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, http.StatusOK, patchAnswer)
			args := append([]string{"instance"}, tt.args[0], "--addr", api.srv.URL, "--service", "svc", "--ip", "10.0.0.1", "--port", "8080")
			res := runCLI(t, append(args, tt.args[1:]...)...)
			if res.code != 0 {
				t.Fatalf("exit code %d, want 0; stderr: %s", res.code, res.errOut)
			}
			req := api.only(t)
			if req.method != http.MethodPatch || req.path != "/v1/instance" || req.contentType != "application/json" {
				t.Errorf("sent %s %s (%s), want PATCH /v1/instance with JSON", req.method, req.path, req.contentType)
			}
			if got := strings.TrimSpace(string(req.body)); got != tt.wantBody {
				t.Errorf("body %s, want %s", got, tt.wantBody)
			}
			if !strings.Contains(res.out, "10.0.0.1  8080  DEFAULT  3       true     false") {
				t.Errorf("output %q does not show the changed instance", res.out)
			}
		})
	}
}

// TestInstance_usage checks that a bad command line sends nothing and
// exits 2 with a reason.
func TestInstance_usage(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no weight", []string{"weight"}, "missing --weight"},
		{"weight too large", []string{"weight", "--weight", "10001"}, "--weight 10001 is not between 0 and 10000"},
		{"negative weight", []string{"weight", "--weight=-1"}, "is not between 0 and 10000"},
		{"metadata without changes", []string{"metadata"}, "nothing to change"},
		{"bad pair", []string{"metadata", "--set", "novalue"}, `--set "novalue" is not key=value`},
		{"no port", []string{"disable", "--port", "0"}, "--port 0 is not between 1 and 65535"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, http.StatusOK, patchAnswer)
			args := append([]string{"instance", tt.args[0], "--addr", api.srv.URL, "--service", "svc", "--ip", "10.0.0.1", "--port", "8080"}, tt.args[1:]...)
			res := runCLI(t, args...)
			if res.code != exitUsage || !strings.Contains(res.errOut, tt.wantErr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", res.code, res.errOut, exitUsage, tt.wantErr)
			}
			api.mu.Lock()
			n := len(api.reqs)
			api.mu.Unlock()
			if n != 0 {
				t.Errorf("sent %d requests, want none", n)
			}
		})
	}
}

// TestInstance_endToEnd changes an instance of a real agent with each
// subcommand and reads the result back.
func TestInstance_endToEnd(t *testing.T) {
	a := startAgent(t, "--http", "127.0.0.1:0", "--log-level", "warn")
	addr := "http://" + a.addr
	target := []string{"--addr", addr, "--service", "web", "--ip", "10.0.0.1", "--port", "8080"}
	mustRun := func(args ...string) result {
		t.Helper()
		res := runCLI(t, args...)
		if res.code != 0 {
			t.Fatalf("roster %s: exit %d: %s", strings.Join(args, " "), res.code, res.errOut)
		}
		return res
	}
	mustRun(append([]string{"register", "--metadata", "zone=a", "--metadata", "v=1"}, target...)...)
	read := func() instance {
		t.Helper()
		var in instance
		if err := json.Unmarshal([]byte(mustRun(append([]string{"instance", "enable", "--json"}, target...)...).out), &struct {
			Instance *instance `json:"instance"`
		}{&in}); err != nil {
			t.Fatal(err)
		}
		return in
	}
	mustRun(append([]string{"instance", "disable"}, target...)...)
	var got instance
	res := mustRun(append([]string{"list", "--json"}, target[:4]...)...)
	var l struct{ Instances []instance }
	if err := json.Unmarshal([]byte(res.out), &l); err != nil || len(l.Instances) != 1 || l.Instances[0].Enabled {
		t.Fatalf("after disable, list says %s (%v), want the instance disabled", res.out, err)
	}
	mustRun(append([]string{"instance", "weight", "--weight", "0.5"}, target...)...)
	mustRun(append([]string{"instance", "metadata", "--set", "zone=b", "--set", "canary=true", "--unset", "v"}, target...)...)
	if got = read(); got.Weight != 0.5 || !got.Enabled || len(got.Metadata) != 2 || got.Metadata["zone"] != "b" || got.Metadata["canary"] != "true" {
		t.Errorf("after weight, metadata and enable: %+v, want weight 0.5, enabled, metadata zone=b canary=true", got)
	}
	mustRun(append([]string{"instance", "metadata", "--replace", "--set", "only=1"}, target...)...)
	if got = read(); len(got.Metadata) != 1 || got.Metadata["only"] != "1" {
		t.Errorf("after --replace: metadata %v, want only=1", got.Metadata)
	}
	res = runCLI(t, "instance", "disable", "--addr", addr, "--service", "web", "--ip", "10.0.0.9", "--port", "8080")
	if res.code != exitFailure || !strings.Contains(res.errOut, "404 Not Found: instance 10.0.0.9:8080 not found") {
		t.Errorf("disabling an unknown instance: exit %d, %q; want 1 and a 404 naming it", res.code, res.errOut)
	}
	res = runCLI(t, append([]string{"instance", "metadata", "--set", "preserved.heart.beat.timeout=abc"}, target...)...)
	if res.code != exitFailure || !strings.Contains(res.errOut, "400 Bad Request") {
		t.Errorf("bad preserved timing: exit %d, %q; want 1 and the server's 400", res.code, res.errOut)
	}
}
