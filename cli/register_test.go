package cli

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

const registerAnswer = `{"instance":{"namespace":"public","group":"DEFAULT_GROUP","service":"svc","cluster":"DEFAULT",` +
	`"ip":"10.0.0.1","port":8080,"instanceId":"10.0.0.1#8080#DEFAULT#DEFAULT_GROUP@@svc","weight":1.5,` +
	`"healthy":true,"enabled":true,"ephemeral":false,"metadata":{"zone":"b","env":"prod"},` +
	`"beatIntervalMs":5000,"beatTimeoutMs":15000,"deleteTimeoutMs":30000},"index":7}`

func TestRegister_request(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantBody map[string]any
	}{
		{
			name:     "required flags only",
			args:     []string{"--service", "svc", "--ip", "10.0.0.1", "--port", "8080"},
			wantBody: map[string]any{"service": "svc", "ip": "10.0.0.1", "port": float64(8080)},
		},
		{
			name: "every flag",
			args: []string{"-s", "svc", "--group", "G", "--namespace", "ns", "--cluster", "c1",
				"--ip", "10.0.0.1", "--port", "8080", "--weight", "1.5",
				"--metadata", "zone=b", "--metadata", "env=prod", "--metadata", "list=a,b=c",
				"--ephemeral=false", "--enabled=true"},
			wantBody: map[string]any{
				"service": "svc", "group": "G", "namespace": "ns", "cluster": "c1",
				"ip": "10.0.0.1", "port": float64(8080), "weight": 1.5,
				"metadata":  map[string]any{"zone": "b", "env": "prod", "list": "a,b=c"},
				"ephemeral": false, "enabled": true,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, http.StatusOK, registerAnswer)
			res := runCLI(t, append([]string{"register", "--addr", api.srv.URL}, tt.args...)...)
			if res.code != 0 {
				t.Fatalf("got exit code %d, want 0; stderr: %s", res.code, res.errOut)
			}
			req := api.only(t)
			if req.method != http.MethodPost || req.path != "/v1/instance" {
				t.Errorf("got %s %s, want POST /v1/instance", req.method, req.path)
			}
			if req.contentType != "application/json" {
				t.Errorf("got content type %q, want application/json", req.contentType)
			}
			var body map[string]any
			if err := json.Unmarshal(req.body, &body); err != nil {
				t.Fatalf("request body %q: %v", req.body, err)
			}
			if !reflect.DeepEqual(body, tt.wantBody) {
				t.Errorf("got body %v, want %v", body, tt.wantBody)
			}
		})
	}
}

func TestRegister_tableOutput(t *testing.T) {
	api := newFakeAPI(t, http.StatusOK, registerAnswer)
	res := runCLI(t, "register", "--addr", api.srv.URL, "--service", "svc", "--ip", "10.0.0.1", "--port", "8080")
	if res.code != 0 {
		t.Fatalf("got exit code %d, want 0; stderr: %s", res.code, res.errOut)
	}
	want := "" +
		"IP        PORT  CLUSTER  WEIGHT  HEALTHY  ENABLED  EPHEMERAL  METADATA\n" +
		"10.0.0.1  8080  DEFAULT  1.5     true     true     false      env=prod,zone=b\n"
	if res.out != want {
		t.Errorf("got output\n%s\nwant\n%s", res.out, want)
	}
}

func TestRegister_jsonOutput(t *testing.T) {
	api := newFakeAPI(t, http.StatusOK, registerAnswer)
	res := runCLI(t, "register", "--json", "--addr", api.srv.URL, "--service", "svc", "--ip", "10.0.0.1", "--port", "8080")
	if res.code != 0 {
		t.Fatalf("got exit code %d, want 0; stderr: %s", res.code, res.errOut)
	}
	var got, want any
	if err := json.Unmarshal([]byte(res.out), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, res.out)
	}
	_ = json.Unmarshal([]byte(registerAnswer), &want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if !strings.HasSuffix(res.out, "}\n") {
		t.Errorf("got output ending %q, want a trailing newline", res.out[len(res.out)-3:])
	}
}

func TestRegister_badUsage(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no service", []string{"--ip", "10.0.0.1", "--port", "1"}, "missing --service"},
		{"no ip", []string{"--service", "svc", "--port", "1"}, "missing --ip"},
		{"no port", []string{"--service", "svc", "--ip", "10.0.0.1"}, "missing --port"},
		{"port out of range", []string{"--service", "svc", "--ip", "10.0.0.1", "--port", "70000"}, "--port 70000"},
		{"port not a number", []string{"--service", "svc", "--ip", "10.0.0.1", "--port", "x"}, "invalid value"},
		{"weight out of range", []string{"--service", "svc", "--ip", "10.0.0.1", "--port", "1", "--weight", "-1"}, "--weight -1"},
		{"metadata without =", []string{"--service", "svc", "--ip", "10.0.0.1", "--port", "1", "--metadata", "zone"}, `--metadata "zone"`},
		{"unknown flag", []string{"--service", "svc", "--bogus"}, "flag provided but not defined: -bogus"},
		{"positional argument", []string{"--service", "svc", "--ip", "10.0.0.1", "--port", "1", "extra"}, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, http.StatusOK, registerAnswer)
			res := runCLI(t, append([]string{"register", "--addr", api.srv.URL}, tt.args...)...)
			if res.code != exitUsage {
				t.Errorf("got exit code %d, want %d", res.code, exitUsage)
			}
			if !strings.Contains(res.errOut, tt.wantErr) || !strings.Contains(res.errOut, "roster register --help") {
				t.Errorf("got stderr %q, want it to contain %q and a help hint", res.errOut, tt.wantErr)
			}
			if res.out != "" {
				t.Errorf("got stdout %q, want nothing", res.out)
			}
			api.mu.Lock()
			n := len(api.reqs)
			api.mu.Unlock()
			if n != 0 {
				t.Errorf("got %d requests, want none", n)
			}
		})
	}
}
