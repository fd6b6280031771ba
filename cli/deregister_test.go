package cli

import (
	"net/http"
	"net/url"
	"reflect"
	"testing"
)

func TestDeregister_request(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		wantQuery url.Values
	}{
		{
			name:      "defaults left to the server",
			args:      []string{"--service", "svc", "--ip", "10.0.0.1", "--port", "8080"},
			wantQuery: url.Values{"service": {"svc"}, "ip": {"10.0.0.1"}, "port": {"8080"}},
		},
		{
			name: "every flag",
			args: []string{"--service", "svc", "--group", "G", "--namespace", "ns", "--cluster", "c1",
				"--ip", "10.0.0.1", "--port", "8080"},
			wantQuery: url.Values{"service": {"svc"}, "group": {"G"}, "namespace": {"ns"}, "cluster": {"c1"},
				"ip": {"10.0.0.1"}, "port": {"8080"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, http.StatusOK, `{"index":9}`)
			res := runCLI(t, append([]string{"deregister", "--addr", api.srv.URL}, tt.args...)...)
			if res.code != 0 {
				t.Fatalf("got exit code %d, want 0; stderr: %s", res.code, res.errOut)
			}
			req := api.only(t)
			if req.method != http.MethodDelete || req.path != "/v1/instance" {
				t.Errorf("got %s %s, want DELETE /v1/instance", req.method, req.path)
			}
			if !reflect.DeepEqual(req.query, tt.wantQuery) {
				t.Errorf("got query %v, want %v", req.query, tt.wantQuery)
			}
			if len(req.body) != 0 {
				t.Errorf("got body %q, want none", req.body)
			}
			if want := "deregistered 10.0.0.1:8080 from service svc (index 9)\n"; res.out != want {
				t.Errorf("got output %q, want %q", res.out, want)
			}
		})
	}
}

func TestDeregister_notFound(t *testing.T) {
	api := newFakeAPI(t, http.StatusNotFound, `{"error":"instance not found"}`)
	res := runCLI(t, "deregister", "--addr", api.srv.URL, "--service", "svc", "--ip", "10.0.0.1", "--port", "8080")
	if res.code != exitFailure {
		t.Errorf("got exit code %d, want %d", res.code, exitFailure)
	}
	want := "roster: deregister: server answered 404 Not Found: instance not found\n"
	if res.errOut != want {
		t.Errorf("got stderr %q, want %q", res.errOut, want)
	}
}
