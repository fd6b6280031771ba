package cli

import (
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"testing"
)

const listAnswer = `{"namespace":"public","group":"DEFAULT_GROUP","service":"svc","index":12,"instances":[
 {"namespace":"public","group":"DEFAULT_GROUP","service":"svc","cluster":"DEFAULT","ip":"10.0.0.2","port":80,
  "instanceId":"10.0.0.2#80#DEFAULT#DEFAULT_GROUP@@svc","weight":100,"healthy":false,"enabled":true,"ephemeral":true,
  "metadata":{},"beatIntervalMs":5000,"beatTimeoutMs":15000,"deleteTimeoutMs":30000},
 {"namespace":"public","group":"DEFAULT_GROUP","service":"svc","cluster":"DEFAULT","ip":"10.0.0.1","port":8080,
  "instanceId":"10.0.0.1#8080#DEFAULT#DEFAULT_GROUP@@svc","weight":0.5,"healthy":true,"enabled":false,"ephemeral":true,
  "metadata":{"version":"2","b":"x=y"},"beatIntervalMs":5000,"beatTimeoutMs":15000,"deleteTimeoutMs":30000},
 {"namespace":"public","group":"DEFAULT_GROUP","service":"svc","cluster":"AZ","ip":"10.0.0.3","port":9,
  "instanceId":"10.0.0.3#9#AZ#DEFAULT_GROUP@@svc","weight":1,"healthy":true,"enabled":true,"ephemeral":false,
  "beatIntervalMs":5000,"beatTimeoutMs":15000,"deleteTimeoutMs":30000}]}`

func TestList_request(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		wantQuery url.Values
	}{
		{
			name:      "service only",
			args:      []string{"--service", "svc"},
			wantQuery: url.Values{"service": {"svc"}},
		},
		{
			name:      "every filter",
			args:      []string{"--service", "svc", "--group", "G", "--namespace", "ns", "--cluster", "c1", "--healthy-only"},
			wantQuery: url.Values{"service": {"svc"}, "group": {"G"}, "namespace": {"ns"}, "cluster": {"c1"}, "healthyOnly": {"true"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, http.StatusOK, listAnswer)
			res := runCLI(t, append([]string{"list", "--addr", api.srv.URL}, tt.args...)...)
			if res.code != 0 {
				t.Fatalf("got exit code %d, want 0; stderr: %s", res.code, res.errOut)
			}
			req := api.only(t)
			if req.method != http.MethodGet || req.path != "/v1/instances" {
				t.Errorf("got %s %s, want GET /v1/instances", req.method, req.path)
			}
			if !reflect.DeepEqual(req.query, tt.wantQuery) {
				t.Errorf("got query %v, want %v", req.query, tt.wantQuery)
			}
		})
	}
}

func TestList_tableOutput(t *testing.T) {
	api := newFakeAPI(t, http.StatusOK, listAnswer)
	res := runCLI(t, "list", "--addr", api.srv.URL, "--service", "svc")
	if res.code != 0 {
		t.Fatalf("got exit code %d, want 0; stderr: %s", res.code, res.errOut)
	}
	want := "" +
		"IP        PORT  CLUSTER  WEIGHT  HEALTHY  ENABLED  EPHEMERAL  METADATA\n" +
		"10.0.0.3  9     AZ       1       true     true     false      -\n" +
		"10.0.0.1  8080  DEFAULT  0.5     true     false    true       b=x=y,version=2\n" +
		"10.0.0.2  80    DEFAULT  100     false    true     true       -\n"
	if res.out != want {
		t.Errorf("got output\n%s\nwant\n%s", res.out, want)
	}
}

func TestList_emptyTable(t *testing.T) {
	api := newFakeAPI(t, http.StatusOK, `{"namespace":"public","group":"DEFAULT_GROUP","service":"svc","index":0,"instances":[]}`)
	res := runCLI(t, "list", "--addr", api.srv.URL, "--service", "svc")
	want := "IP  PORT  CLUSTER  WEIGHT  HEALTHY  ENABLED  EPHEMERAL  METADATA\n"
	if res.code != 0 || res.out != want {
		t.Errorf("got code %d output %q, want 0 and %q", res.code, res.out, want)
	}
}

func TestList_jsonOutput(t *testing.T) {
	api := newFakeAPI(t, http.StatusOK, listAnswer)
	res := runCLI(t, "list", "--json", "--addr", api.srv.URL, "--service", "svc")
	if res.code != 0 {
		t.Fatalf("got exit code %d, want 0; stderr: %s", res.code, res.errOut)
	}
	var got, want any
	if err := json.Unmarshal([]byte(res.out), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, res.out)
	}
	_ = json.Unmarshal([]byte(listAnswer), &want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
