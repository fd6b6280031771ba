package client

// Node: one node, one attempt. Tools that must see what one particular
// node answers — the roster command's one-shot commands, the bench, the
// chaos suite, the process launcher — talk through a Node: every call goes
// to its one base URL once, with no failover, no retries and no ring, and
// an answer other than 2xx is an *APIError. Programs use Client.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/roster-io/roster/api"
)

// Node calls the native API of exactly one node. It starts no goroutine
// and needs no Close; it is safe for concurrent use.
type Node struct {
	base    *url.URL
	http    *http.Client
	token   string
	timeout time.Duration
}

// NewNode returns a Node for the one address in cfg.Addrs. Of cfg it uses
// Addrs, Token, TLS, CAFile, HTTPClient and RequestTimeout (default 5s),
// which bounds each call (a blocking query gets its wait on top).
func NewNode(cfg Config) (*Node, error) {
	if len(cfg.Addrs) != 1 {
		return nil, fmt.Errorf("client: node: config names %d addresses, want exactly one", len(cfg.Addrs))
	}
	cfg, hc, err := cfg.prepare()
	if err != nil {
		return nil, err
	}
	base, _ := parseAddr(cfg.Addrs[0]) // checked by Validate
	return &Node{base: base, http: hc, token: cfg.Token, timeout: cfg.RequestTimeout}, nil
}

// Addr is the node's base URL, as in http://127.0.0.1:8848.
func (n *Node) Addr() string { return n.base.String() }

// Answer is a 2xx answer: its body and the X-Roster-Index header (0 when
// absent).
type Answer struct {
	Body  []byte
	Index uint64
}

// Do sends one request to path (which starts with /) with the query and,
// if body is not nil, body as JSON, and returns the 2xx answer. Any other
// status is an *APIError; a transport failure wraps the *url.Error of
// net/http.
func (n *Node) Do(ctx context.Context, method, path string, query url.Values, body any) (Answer, error) {
	return n.do(ctx, request{method: method, path: path, query: query, body: body})
}

func (n *Node) do(ctx context.Context, req request) (Answer, error) {
	ans, err := sendOnce(ctx, n.http, n.token, n.timeout, n.base, req)
	if err != nil {
		return Answer{}, err
	}
	return Answer{Body: ans.body, Index: ans.index}, nil
}

// get sends GET path?query and decodes the answer into out.
func (n *Node) get(ctx context.Context, path string, query url.Values, out any) error {
	ans, err := n.do(ctx, request{method: http.MethodGet, path: path, query: query})
	if err != nil {
		return err
	}
	if err := json.Unmarshal(ans.Body, out); err != nil {
		return fmt.Errorf("client: GET %s on %s: decode answer: %w", path, n.base, err)
	}
	return nil
}

// List is the node's list of a service: its instances, sorted by cluster,
// ip and port, and the node's change index of the service.
type List struct {
	Index     uint64
	Instances []Instance
}

// List returns the service's instances as this node holds them.
func (n *Node) List(ctx context.Context, q Query) (List, error) {
	return n.ListAfter(ctx, q, 0, 0)
}

// ListAfter is a blocking query: with index > 0 the node answers once its
// index of the service passes index, or after wait. With index 0 it
// answers at once, like List.
func (n *Node) ListAfter(ctx context.Context, q Query, index uint64, wait time.Duration) (List, error) {
	v, err := q.values()
	if err != nil {
		return List{}, err
	}
	req := request{method: http.MethodGet, path: "/v1/instances", query: v}
	if index > 0 {
		v.Set("index", fmt.Sprint(index))
		v.Set("wait", wait.String())
		req.wait = wait + wait/16
	}
	ans, err := n.do(ctx, req)
	if err != nil {
		return List{}, err
	}
	var body listBody
	if err := json.Unmarshal(ans.Body, &body); err != nil {
		return List{}, fmt.Errorf("client: list %s on %s: decode answer: %w", q.Name, n.base, err)
	}
	return List{Index: max(body.Index, ans.Index), Instances: body.instances()}, nil
}

// Members returns the cluster's members as this node sees them.
func (n *Node) Members(ctx context.Context) ([]Member, error) {
	var out api.Members
	if err := n.get(ctx, "/v1/cluster/members", nil, &out); err != nil {
		return nil, err
	}
	return out.Members, nil
}

// Owner is a service's place on the ring as /v1/cluster/owner reports it.
type Owner = api.Owner

// Owner returns which member owns service s, as this node's ring says.
func (n *Node) Owner(ctx context.Context, s Service) (Owner, error) {
	if s.Name == "" {
		return Owner{}, fmt.Errorf("client: owner: Service.Name is empty")
	}
	v := url.Values{"service": {s.Name}}
	for k, x := range map[string]string{"namespace": s.Namespace, "group": s.Group} {
		if x != "" {
			v.Set(k, x)
		}
	}
	var out Owner
	if err := n.get(ctx, "/v1/cluster/owner", v, &out); err != nil {
		return Owner{}, err
	}
	return out, nil
}

// ServiceCount is one service of /v1/services with its instance counts.
type ServiceCount = api.ServiceSummary

// Services returns the services of a namespace ("" the server's default)
// in group, or in every group when group is "".
func (n *Node) Services(ctx context.Context, namespace, group string) ([]ServiceCount, error) {
	v := url.Values{}
	if namespace != "" {
		v.Set("namespace", namespace)
	}
	if group != "" {
		v.Set("group", group)
	}
	var out api.Services
	if err := n.get(ctx, "/v1/services", v, &out); err != nil {
		return nil, err
	}
	return out.Services, nil
}
