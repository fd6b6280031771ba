package chaos

// The harness's HTTP. The native API (/v1/...) goes through client.Node,
// one request to one node (api). Raw requests (do, doSent) are kept for
// what package client does not speak: the Nacos API the simulated
// instances use, the hostile clients' deliberately malformed requests,
// and PUT /debug/faults.

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roster-io/roster/client"
	"github.com/roster-io/roster/internal/agentproc"
)

// transport keeps connections per node; many goroutines share it.
var transport = &http.Transport{MaxIdleConnsPerHost: 256, IdleConnTimeout: 30 * time.Second,
	DisableCompression: true}

// apis holds one client.Node per node address.
var apis struct {
	mu    sync.Mutex // guards nodes
	nodes map[string]*client.Node
}

// api returns the native-API client of p: one attempt, within a second,
// over the shared transport.
func api(p *agentproc.Proc) (*client.Node, error) {
	apis.mu.Lock()
	defer apis.mu.Unlock()
	if n := apis.nodes[p.HTTP]; n != nil {
		return n, nil
	}
	n, err := client.NewNode(client.Config{Addrs: []string{p.URL()}, HTTPClient: &http.Client{Transport: transport},
		RequestTimeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("chaos: %w", err)
	}
	if apis.nodes == nil {
		apis.nodes = map[string]*client.Node{}
	}
	apis.nodes[p.HTTP] = n
	return n, nil
}

// do sends one request to addr and returns status, body and a transport
// error (status 0). A form body is used for POST/PUT when body is nil and
// v is set; otherwise v goes in the query string.
func do(method, addr, path string, v url.Values, body []byte, timeout time.Duration) (int, []byte, error) {
	code, b, _, err := doSent(method, addr, path, v, body, timeout)
	return code, b, err
}

// doSent is do that also returns when the request was written to the
// connection (the moment the node can see it; zero if it never was).
func doSent(method, addr, path string, v url.Values, body []byte, timeout time.Duration) (int, []byte, time.Time, error) {
	u := "http://" + addr + path
	var rd io.Reader
	ctype := ""
	switch {
	case body != nil:
		rd = bytes.NewReader(body)
		ctype = "application/json"
		if len(v) > 0 {
			u += "?" + v.Encode()
		}
	case (method == http.MethodPost || method == http.MethodPut) && len(v) > 0:
		rd = bytes.NewReader([]byte(v.Encode()))
		ctype = "application/x-www-form-urlencoded"
	case len(v) > 0:
		u += "?" + v.Encode()
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		return 0, nil, time.Time{}, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	var wrote atomic.Int64 // set by the transport's writer goroutine
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { wrote.Store(time.Now().UnixNano()) }}))
	sent := func() time.Time {
		if ns := wrote.Load(); ns != 0 {
			return time.Unix(0, ns)
		}
		return time.Time{}
	}
	cl := &http.Client{Transport: transport, Timeout: timeout}
	resp, err := cl.Do(req)
	if err != nil {
		return 0, nil, sent(), err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	return resp.StatusCode, b, sent(), err
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
