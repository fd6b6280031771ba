package client

// Requests and failover. A call goes to the node that answered last; on a
// transport error, a 5xx or a 429 it moves to the next address, and after
// every address failed once it backs off (exponentially, with jitter)
// before the next round, up to Config.Attempts attempts in all. 4xx
// answers other than 429 are final: another node would say the same.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/roster-io/roster/api"
)

// maxResponseBytes bounds how much of an answer the client reads.
const maxResponseBytes = 64 << 20

// request is one API call.
type request struct {
	method string
	path   string
	query  url.Values
	body   any
	// wait is added to the per-attempt timeout (blocking queries).
	wait time.Duration
	// header holds extra request headers (nil: none).
	header http.Header
}

// answer is a 2xx answer.
type answer struct {
	body  []byte
	index uint64
}

// do sends req with failover and decodes a 2xx body into out (if not nil).
func (c *Client) do(ctx context.Context, req request, out any) error {
	ans, err := c.send(ctx, req)
	if err != nil {
		return err
	}
	if out != nil {
		if err := json.Unmarshal(ans.body, out); err != nil {
			return fmt.Errorf("client: %s %s: decode answer: %w", req.method, req.path, err)
		}
	}
	return nil
}

// send sends req with failover, starting at the preferred address.
func (c *Client) send(ctx context.Context, req request) (answer, error) {
	targets := c.targets()
	n := len(targets)
	start := int(c.preferred.Load())
	var last error
	for attempt := 0; attempt < c.cfg.Attempts; attempt++ {
		if attempt > 0 && attempt%n == 0 {
			if err := sleep(ctx, c.backoff(attempt/n-1)); err != nil {
				return answer{}, fmt.Errorf("client: %s %s: %w (last error: %w)", req.method, req.path, err, last)
			}
		}
		i := (start + attempt) % n
		ans, err := c.sendTo(ctx, targets[i], req)
		if err == nil {
			c.preferred.Store(uint32(i))
			return ans, nil
		}
		last = err
		if !retryable(ctx, err) {
			return answer{}, err
		}
		c.log.Debug("request failed; trying the next node", "node", targets[i].String(), "path", req.path, "err", err)
	}
	return answer{}, fmt.Errorf("client: %s %s: every attempt failed: %w", req.method, req.path, last)
}

// targets returns the nodes a call may go to: the configured addresses,
// then the other members the client learned (while it has registrations),
// so it keeps working when every configured node is down.
func (c *Client) targets() []*url.URL {
	ms := c.ringMembers()
	if len(ms) == 0 {
		return c.addrs
	}
	out := slices.Clone(c.addrs)
	for _, m := range ms {
		if !slices.ContainsFunc(out, func(u *url.URL) bool { return u.Host == m.HTTPAddr }) {
			out = append(out, c.memberURL(m.HTTPAddr))
		}
	}
	return out
}

// retryable reports whether err from one attempt justifies trying another
// node: not when the caller's context ended or the node refused the call.
func retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.retryable()
	}
	return true
}

// backoff returns the wait before round r (0-based) of attempts.
func (c *Client) backoff(r int) time.Duration {
	d := c.cfg.BackoffMin
	for i := 0; i < r && d < c.cfg.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, c.cfg.BackoffMax)
	return d/2 + rand.N(d/2+1)
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// sendTo sends one attempt of req to the node at base.
func (c *Client) sendTo(ctx context.Context, base *url.URL, req request) (answer, error) {
	ans, err := sendOnce(ctx, c.http, c.cfg.Token, c.cfg.RequestTimeout, base, req)
	c.answered.note(base, err, time.Now())
	return ans, err
}

// sendOnce sends one attempt of req to the node at base through hc, with
// token (if set) as the bearer token, within timeout plus req.wait.
func sendOnce(ctx context.Context, hc *http.Client, token string, timeout time.Duration, base *url.URL, req request) (answer, error) {
	u := *base
	u.Path += req.path
	u.RawQuery = req.query.Encode()
	var rd io.Reader
	if req.body != nil {
		b, err := json.Marshal(req.body)
		if err != nil {
			return answer{}, fmt.Errorf("client: encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout+req.wait)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, req.method, u.String(), rd)
	if err != nil {
		return answer{}, fmt.Errorf("client: build request: %w", err)
	}
	hr.Header.Set("Accept", "application/json")
	if req.body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		hr.Header.Set("Authorization", "Bearer "+token)
	}
	for k, vs := range req.header {
		hr.Header[k] = vs
	}
	resp, err := hc.Do(hr)
	if err != nil {
		return answer{}, fmt.Errorf("client: %s %s: %w", req.method, base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return answer{}, fmt.Errorf("client: read answer from %s: %w", base, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return answer{}, &APIError{Node: base.String(), Status: resp.StatusCode, Message: errorMessage(body),
			RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"))}
	}
	idx, _ := strconv.ParseUint(resp.Header.Get(api.IndexHeader), 10, 64)
	return answer{body: body, index: idx}, nil
}

// errorMessage extracts the message of an error answer.
func errorMessage(body []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return e.Error
	}
	s := string(bytes.TrimSpace(body))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	if s == "" {
		s = "no error message"
	}
	return s
}

// refused reports whether err means nothing listens at the node's address:
// it is down, so it serves nothing to anybody.
func refused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED)
}
