package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/roster-io/roster/client"
)

// Namespace is where the bench registers everything, so that a run against
// a shared cluster does not mix with real services.
const Namespace = "roster-bench"

// NewHTTPClient returns a client tuned for load: keep-alive on, enough
// idle connections per host for every worker, no compression and a
// per-request timeout.
func NewHTTPClient(concurrency int, timeout time.Duration) *http.Client {
	tr := &http.Transport{
		Proxy:               nil, // loopback: never a proxy
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        0,
		MaxIdleConnsPerHost: max(concurrency, 1) * 2,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	return &http.Client{Transport: tr, Timeout: timeout}
}

// Client calls roster nodes: the Nacos API (the load the modes generate)
// directly, the native API through package client (node). It is safe for
// concurrent use.
type Client struct {
	HTTP  *http.Client
	Addrs []string // base URLs, "http://host:port"
}

// statusError is a non-2xx answer.
type statusError struct {
	status int
	body   string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("bench: server answered %d: %s", e.status, e.body)
}

// Do sends one request and returns the status and, if keep is set, the
// body; otherwise the body is discarded. A non-2xx status is an error.
func (c *Client) Do(ctx context.Context, method, rawURL, contentType string, body string, keep bool) ([]byte, http.Header, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, rd)
	if err != nil {
		return nil, nil, fmt.Errorf("bench: %w", err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("bench: %w", err)
	}
	defer resp.Body.Close()
	var data []byte
	if keep || resp.StatusCode/100 != 2 {
		data, err = io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	} else {
		_, err = io.Copy(io.Discard, resp.Body)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("bench: read answer: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		msg := strings.TrimSpace(string(data))
		if len(msg) > 200 {
			msg = msg[:200] + "..."
		}
		return nil, nil, &statusError{status: resp.StatusCode, body: msg}
	}
	return data, resp.Header, nil
}

// Form sends a form-encoded request (the Nacos API's way).
func (c *Client) Form(ctx context.Context, method, base, path string, v url.Values) error {
	_, _, err := c.Do(ctx, method, base+path, "application/x-www-form-urlencoded", v.Encode(), false)
	return err
}

// GetJSON GETs base+path?q and decodes the JSON answer into out (the
// Nacos API's lists).
func (c *Client) GetJSON(ctx context.Context, base, path string, q url.Values, out any) (http.Header, error) {
	u := base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	data, h, err := c.Do(ctx, http.MethodGet, u, "", "", true)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, out); err != nil {
		return nil, fmt.Errorf("bench: decode %s: %w", path, err)
	}
	return h, nil
}

// node returns a native-API client of the node at base, sharing c's
// connections; native calls (/v1/...) go through package client, the
// Nacos API's form posts and lists through Do, Form and GetJSON.
func (c *Client) node(base string) (*client.Node, error) {
	n, err := client.NewNode(client.Config{Addrs: []string{base}, HTTPClient: c.HTTP, RequestTimeout: c.HTTP.Timeout})
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	return n, nil
}

// instanceIP is a distinct, valid IPv4 address for instance number i.
func instanceIP(i int) string {
	return fmt.Sprintf("10.%d.%d.%d", (i>>16)&0xff, (i>>8)&0xff, i&0xff)
}

// runID is a short tag that keeps names of separate runs apart.
func runID() string {
	return fmt.Sprintf("%x", time.Now().UnixNano()&0xffffff)
}
