package cli

import (
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"testing"
)

const servicesAnswer = `{"namespace":"public","index":4,"services":[
 {"group":"DEFAULT_GROUP","service":"web","instances":3,"healthy":2},
 {"group":"A","service":"zeta","instances":1,"healthy":1},
 {"group":"DEFAULT_GROUP","service":"api","instances":0,"healthy":0}]}`

func TestServices_request(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		wantQuery url.Values
	}{
		{"all groups", nil, url.Values{}},
		{"namespace and group", []string{"--namespace", "ns", "--group", "G"}, url.Values{"namespace": {"ns"}, "group": {"G"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, http.StatusOK, servicesAnswer)
			res := runCLI(t, append([]string{"services", "--addr", api.srv.URL}, tt.args...)...)
			if res.code != 0 {
				t.Fatalf("got exit code %d, want 0; stderr: %s", res.code, res.errOut)
			}
			req := api.only(t)
			if req.method != http.MethodGet || req.path != "/v1/services" {
				t.Errorf("got %s %s, want GET /v1/services", req.method, req.path)
			}
			if !reflect.DeepEqual(req.query, tt.wantQuery) {
				t.Errorf("got query %v, want %v", req.query, tt.wantQuery)
			}
		})
	}
}

func TestServices_tableOutput(t *testing.T) {
	api := newFakeAPI(t, http.StatusOK, servicesAnswer)
	res := runCLI(t, "services", "--addr", api.srv.URL)
	want := "" +
		"GROUP          SERVICE  INSTANCES  HEALTHY\n" +
		"A              zeta     1          1\n" +
		"DEFAULT_GROUP  api      0          0\n" +
		"DEFAULT_GROUP  web      3          2\n"
	if res.code != 0 || res.out != want {
		t.Errorf("got code %d output\n%s\nwant 0 and\n%s", res.code, res.out, want)
	}
}

func TestServices_jsonOutput(t *testing.T) {
	api := newFakeAPI(t, http.StatusOK, servicesAnswer)
	res := runCLI(t, "services", "--addr", api.srv.URL, "--json")
	var got, want any
	if err := json.Unmarshal([]byte(res.out), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, res.out)
	}
	_ = json.Unmarshal([]byte(servicesAnswer), &want)
	if res.code != 0 || !reflect.DeepEqual(got, want) {
		t.Errorf("got code %d, %v; want 0, %v", res.code, got, want)
	}
}
