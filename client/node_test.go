package client

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roster-io/roster/api"
)

// oneNode is a fake node answering canned bodies by path and recording
// the requests.
type oneNode struct {
	srv *httptest.Server

	mu   sync.Mutex // guards reqs
	reqs []*http.Request
}

func newOneNode(t *testing.T, status int, bodies map[string]string) *oneNode {
	t.Helper()
	o := &oneNode{}
	o.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		o.mu.Lock()
		o.reqs = append(o.reqs, r)
		o.mu.Unlock()
		w.Header().Set(api.IndexHeader, "42")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, bodies[r.URL.Path])
	}))
	t.Cleanup(o.srv.Close)
	return o
}

func (o *oneNode) last() *http.Request {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.reqs[len(o.reqs)-1]
}

func (o *oneNode) node(t *testing.T, token string) *Node {
	t.Helper()
	n, err := NewNode(Config{Addrs: []string{o.srv.URL + "/"}, Token: token, RequestTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestNewNode_wantsExactlyOneAddress(t *testing.T) {
	for _, addrs := range [][]string{nil, {"127.0.0.1:1", "127.0.0.1:2"}} {
		if _, err := NewNode(Config{Addrs: addrs}); err == nil || !strings.Contains(err.Error(), "exactly one") {
			t.Errorf("addrs %v: got %v, want an error asking for exactly one", addrs, err)
		}
	}
	if _, err := NewNode(Config{Addrs: []string{"ftp://x"}}); err == nil {
		t.Error("got no error for an ftp address")
	}
}

func TestNode_doSendsOneRequestWithTokenAndIndex(t *testing.T) {
	o := newOneNode(t, http.StatusOK, map[string]string{"/v1/services": `{"services":[]}`})
	n := o.node(t, "s3cret")
	if n.Addr() != o.srv.URL {
		t.Errorf("got Addr %q, want %q", n.Addr(), o.srv.URL)
	}
	ans, err := n.Do(context.Background(), http.MethodGet, "/v1/services", url.Values{"namespace": {"ns"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(ans.Body) != `{"services":[]}` || ans.Index != 42 {
		t.Errorf("got body %q index %d, want the services body and 42", ans.Body, ans.Index)
	}
	r := o.last()
	if r.Header.Get("Authorization") != "Bearer s3cret" || r.URL.Query().Get("namespace") != "ns" {
		t.Errorf("got Authorization %q query %v", r.Header.Get("Authorization"), r.URL.Query())
	}
	if _, err := n.Do(context.Background(), http.MethodPost, "/v1/instance", nil, map[string]int{"port": 1}); err != nil {
		t.Fatal(err)
	}
	if ct := o.last().Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("got Content-Type %q for a JSON body", ct)
	}
}

func TestNode_errorsAreNotRetried(t *testing.T) {
	o := newOneNode(t, http.StatusServiceUnavailable, map[string]string{"/v1/instances": `{"error":"syncing"}`})
	n := o.node(t, "")
	_, err := n.List(context.Background(), Query{Service: Service{Name: "s"}})
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 503 || ae.Message != "syncing" {
		t.Fatalf("got %v, want an APIError 503 syncing", err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.reqs) != 1 {
		t.Errorf("got %d requests, want 1 (no retry)", len(o.reqs))
	}
}

func TestNode_unreachableWrapsURLError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	n, err := NewNode(Config{Addrs: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = n.Members(context.Background())
	var ue *url.Error
	if !errors.As(err, &ue) || !refused(err) {
		t.Fatalf("got %v, want a refused *url.Error", err)
	}
}

func TestNode_typedCalls(t *testing.T) {
	o := newOneNode(t, http.StatusOK, map[string]string{
		"/v1/instances": `{"index":7,"instances":[{"service":"s","ip":"10.0.0.2","port":2,"healthy":false},` +
			`{"service":"s","ip":"10.0.0.1","port":1,"healthy":true,"instanceId":"a"}]}`,
		"/v1/cluster/members": `{"self":"a","members":[{"name":"a","httpAddr":"h","gossipAddr":"g","state":"alive","epoch":3,"partitions":5,"services":2,"self":true}]}`,
		"/v1/cluster/owner":   `{"namespace":"public","group":"DEFAULT_GROUP","service":"s","partition":9,"owner":"a","ownerAddr":"h"}`,
		"/v1/services":        `{"services":[{"group":"g","service":"s","instances":2,"healthy":1}]}`,
	})
	n := o.node(t, "")
	ctx := context.Background()

	l, err := n.List(ctx, Query{Service: Service{Name: "s"}})
	if err != nil {
		t.Fatal(err)
	}
	if l.Index != 42 || len(l.Instances) != 2 || l.Instances[0].IP != "10.0.0.1" || !l.Instances[0].Healthy {
		t.Errorf("got %+v, want index 42 (the header wins) and two sorted instances", l)
	}
	if _, err := n.ListAfter(ctx, Query{Service: Service{Name: "s"}}, 7, time.Second); err != nil {
		t.Fatal(err)
	}
	if q := o.last().URL.Query(); q.Get("index") != "7" || q.Get("wait") != "1s" {
		t.Errorf("got query %v, want index=7 and wait=1s", q)
	}

	ms, err := n.Members(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].Name != "a" || ms[0].GossipAddr != "g" || ms[0].Epoch != 3 || ms[0].Partitions != 5 || !ms[0].Self {
		t.Errorf("got members %+v", ms)
	}

	ow, err := n.Owner(ctx, Service{Name: "s", Group: "G"})
	if err != nil {
		t.Fatal(err)
	}
	if ow.Owner != "a" || ow.Partition != 9 || o.last().URL.Query().Get("group") != "G" {
		t.Errorf("got owner %+v, query %v", ow, o.last().URL.Query())
	}

	svcs, err := n.Services(ctx, "ns", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(svcs) != 1 || svcs[0].Instances != 2 || svcs[0].Healthy != 1 || o.last().URL.Query().Has("group") {
		t.Errorf("got services %+v, query %v", svcs, o.last().URL.Query())
	}
}
