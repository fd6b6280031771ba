package cli

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestClient_serverErrors(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		body       string
		args       []string
		wantStderr string
	}{
		{
			name: "register 400", status: http.StatusBadRequest, body: `{"error":"ip: not an IP address"}`,
			args:       []string{"register", "--service", "svc", "--ip", "nope", "--port", "80"},
			wantStderr: "roster: register: server answered 400 Bad Request: ip: not an IP address\n",
		},
		{
			name: "list 400", status: http.StatusBadRequest, body: `{"error":"service: required"}`,
			args:       []string{"list", "--service", "svc"},
			wantStderr: "roster: list: server answered 400 Bad Request: service: required\n",
		},
		{
			name: "services 500 without JSON", status: http.StatusInternalServerError, body: "boom\n",
			args:       []string{"services"},
			wantStderr: "roster: services: server answered 500 Internal Server Error: boom\n",
		},
		{
			name: "empty error body", status: http.StatusServiceUnavailable, body: "",
			args:       []string{"services"},
			wantStderr: "roster: services: server answered 503 Service Unavailable: no error message\n",
		},
		{
			name: "json mode still reports errors", status: http.StatusBadRequest, body: `{"error":"port: out of range"}`,
			args:       []string{"deregister", "--json", "--service", "svc", "--ip", "10.0.0.1", "--port", "80"},
			wantStderr: "roster: deregister: server answered 400 Bad Request: port: out of range\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, tt.status, tt.body)
			args := append([]string{tt.args[0], "--addr", api.srv.URL}, tt.args[1:]...)
			res := runCLI(t, args...)
			if res.code != exitFailure {
				t.Errorf("got exit code %d, want %d", res.code, exitFailure)
			}
			if res.errOut != tt.wantStderr {
				t.Errorf("got stderr %q, want %q", res.errOut, tt.wantStderr)
			}
			if res.out != "" {
				t.Errorf("got stdout %q, want nothing", res.out)
			}
		})
	}
}

func TestClient_unreachable(t *testing.T) {
	addr := closedAddr(t)
	res := runCLI(t, "services", "--addr", "http://"+addr)
	if res.code != exitFailure {
		t.Errorf("got exit code %d, want %d", res.code, exitFailure)
	}
	want := "roster: services: cannot reach roster at http://" + addr + ": "
	if !strings.HasPrefix(res.errOut, want) {
		t.Errorf("got stderr %q, want prefix %q", res.errOut, want)
	}
}

func TestClient_timeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // never answer; the client gives up
	}))
	t.Cleanup(srv.Close)
	res := runCLI(t, "list", "--addr", srv.URL, "--service", "svc", "--timeout", "50ms")
	want := "roster: list: no answer from roster at " + srv.URL + " within 50ms\n"
	if res.code != exitFailure || res.errOut != want {
		t.Errorf("got code %d stderr %q, want %d and %q", res.code, res.errOut, exitFailure, want)
	}
}

func TestClient_addr(t *testing.T) {
	api := newFakeAPI(t, http.StatusOK, servicesAnswer)
	hostPort := strings.TrimPrefix(api.srv.URL, "http://")
	tests := []struct {
		name     string
		env      string
		args     []string
		wantCode int
		wantErr  string
	}{
		{name: "url", args: []string{"--addr", api.srv.URL}},
		{name: "url with slash", args: []string{"--addr", api.srv.URL + "/"}},
		{name: "host:port", args: []string{"--addr", hostPort}},
		{name: "from ROSTER_ADDR", env: api.srv.URL},
		{name: "flag beats env", env: "http://" + closedAddr(t), args: []string{"--addr", api.srv.URL}},
		{name: "bad scheme", args: []string{"--addr", "ftp://" + hostPort}, wantCode: exitUsage, wantErr: "scheme must be http or https"},
		{name: "empty", args: []string{"--addr", ""}, wantCode: exitUsage, wantErr: "--addr is empty"},
		{name: "zero timeout", args: []string{"--addr", api.srv.URL, "--timeout", "0s"}, wantCode: exitUsage, wantErr: "--timeout 0s must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("ROSTER_ADDR", tt.env)
			res := runCLI(t, append([]string{"services"}, tt.args...)...)
			if res.code != tt.wantCode {
				t.Errorf("got exit code %d, want %d; stderr: %s", res.code, tt.wantCode, res.errOut)
			}
			if !strings.Contains(res.errOut, tt.wantErr) {
				t.Errorf("got stderr %q, want it to contain %q", res.errOut, tt.wantErr)
			}
		})
	}
}

func TestClient_invalidJSONAnswer(t *testing.T) {
	api := newFakeAPI(t, http.StatusOK, `{"services":`)
	for _, args := range [][]string{{"services"}, {"services", "--json"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			res := runCLI(t, append(args, "--addr", api.srv.URL)...)
			if res.code != exitFailure || res.errOut == "" {
				t.Errorf("got code %d stderr %q, want %d and a message", res.code, res.errOut, exitFailure)
			}
		})
	}
}
