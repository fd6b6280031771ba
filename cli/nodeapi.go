package cli

// The one-shot client commands talk to the node at --addr through
// client.Node: one request, with the --timeout deadline, no failover. A
// 2xx answer is returned as raw JSON (printed as is with --json); anything
// else becomes an error worded for the command line that carries the
// server's {"error": ...} message.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/roster-io/roster/client"
)

// apiClient calls one node's native API.
type apiClient struct {
	node    *client.Node
	timeout time.Duration
}

// newAPIClient builds a client from --addr, --timeout, --token and the TLS
// flags.
func newAPIClient(c *cli.Context) (*apiClient, error) {
	base, err := parseAddr(c.String("addr"))
	if err != nil {
		return nil, badUsage(c, err)
	}
	timeout := c.Duration("timeout")
	if timeout <= 0 {
		return nil, badUsage(c, fmt.Errorf("--timeout %v must be positive", timeout))
	}
	tc, err := clientTLS(c)
	if err != nil {
		return nil, badUsage(c, err)
	}
	n, err := client.NewNode(client.Config{Addrs: []string{base.String()}, Token: strings.TrimSpace(c.String("token")),
		TLS: tc, RequestTimeout: timeout})
	if err != nil {
		return nil, badUsage(c, err)
	}
	return &apiClient{node: n, timeout: timeout}, nil
}

// apiError is a non-2xx answer from the server.
type apiError struct {
	status  int
	message string // the server's "error" field, or the body itself
}

func (e *apiError) Error() string {
	return fmt.Sprintf("server answered %d %s: %s", e.status, http.StatusText(e.status), e.message)
}

// do sends one request and returns the body of a 2xx answer. body, if not
// nil, is sent as JSON.
func (a *apiClient) do(ctx context.Context, method, path string, query url.Values, body any) ([]byte, error) {
	ans, err := a.node.Do(ctx, method, path, query, body)
	if err != nil {
		return nil, a.explain(err)
	}
	return ans.Body, nil
}

// explain words a failed request for the command line.
func (a *apiClient) explain(err error) error {
	var ae *client.APIError
	if errors.As(err, &ae) {
		return &apiError{status: ae.Status, message: ae.Message}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		if errors.Is(ue.Err, context.DeadlineExceeded) {
			return fmt.Errorf("no answer from roster at %s within %v", a.node.Addr(), a.timeout)
		}
		return fmt.Errorf("cannot reach roster at %s: %w", a.node.Addr(), ue.Err)
	}
	return err
}

// decode unmarshals a response body into v.
func decode(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode answer: %w", err)
	}
	return nil
}
