package cli

import (
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

const membersAnswer = `{"self":"n1","members":[
 {"name":"n1","httpAddr":"127.0.0.1:8848","gossipAddr":"127.0.0.1:7946","state":"alive","epoch":1,"partitions":2000,"services":7,"self":true},
 {"name":"n2","httpAddr":"127.0.0.1:8849","gossipAddr":"127.0.0.1:7947","state":"syncing","epoch":2,"partitions":0,"services":0}]}`

func TestMembers_table(t *testing.T) {
	api := newFakeAPI(t, http.StatusOK, membersAnswer)
	res := runCLI(t, "members", "--addr", api.srv.URL)
	if res.code != 0 {
		t.Fatalf("got exit code %d, want 0; stderr: %s", res.code, res.errOut)
	}
	if req := api.only(t); req.method != http.MethodGet || req.path != "/v1/cluster/members" {
		t.Errorf("got %s %s, want GET /v1/cluster/members", req.method, req.path)
	}
	want := "" +
		"NAME       HTTP            GOSSIP          STATE    PARTITIONS  SERVICES\n" +
		"n1 (self)  127.0.0.1:8848  127.0.0.1:7946  alive    2000        7\n" +
		"n2         127.0.0.1:8849  127.0.0.1:7947  syncing  0           0\n"
	if res.out != want {
		t.Errorf("got\n%s\nwant\n%s", res.out, want)
	}
}

func TestOwner_requestAndTable(t *testing.T) {
	api := newFakeAPI(t, http.StatusOK, `{"namespace":"public","group":"G","service":"orders","partition":17,"owner":"n2","ownerAddr":"127.0.0.1:8849"}`)
	res := runCLI(t, "owner", "--addr", api.srv.URL, "--service", "orders", "--group", "G")
	if res.code != 0 {
		t.Fatalf("got exit code %d, want 0; stderr: %s", res.code, res.errOut)
	}
	req := api.only(t)
	if req.path != "/v1/cluster/owner" || !reflect.DeepEqual(req.query, url.Values{"service": {"orders"}, "group": {"G"}}) {
		t.Errorf("got %s?%v, want /v1/cluster/owner?service=orders&group=G", req.path, req.query)
	}
	if !strings.Contains(res.out, "public     G      orders   17         n2     127.0.0.1:8849") {
		t.Errorf("got\n%s", res.out)
	}
}

func TestOwner_needsService(t *testing.T) {
	api := newFakeAPI(t, http.StatusOK, `{}`)
	res := runCLI(t, "owner", "--addr", api.srv.URL)
	if res.code != 2 || !strings.Contains(res.errOut, "service") {
		t.Errorf("got code %d stderr %q, want 2 naming --service", res.code, res.errOut)
	}
}
