package health

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/roster-io/roster/store"
)

// work runs checks until Stop.
func (c *Checker) work() {
	client := c.httpClient()
	defer client.CloseIdleConnections()
	for {
		select {
		case <-c.stop:
			return
		case j := <-c.jobs:
			start := time.Now()
			err := c.probe(client, j)
			select {
			case c.results <- result{t: j.t, ok: err == nil, err: err, dur: time.Since(start)}:
			case <-c.stop:
				return
			}
		}
	}
}

// probe runs one check: nil means healthy.
func (c *Checker) probe(client *http.Client, j job) error {
	switch j.hc.Type {
	case store.CheckTCP:
		ctx, cancel := context.WithTimeout(c.ctx, c.cfg.Timeout)
		defer cancel()
		conn, err := c.cfg.Dialer(ctx, "tcp", j.addr)
		if err != nil {
			return fmt.Errorf("tcp connect %s: %w", j.addr, err)
		}
		return conn.Close()
	case store.CheckHTTP:
		return c.probeHTTP(client, j)
	}
	return fmt.Errorf("no check of type %q", j.hc.Type)
}

// probeHTTP GETs the checker's path with its headers and expects its
// status code. Redirects are not followed: the checker connects only to
// the instance's own address.
func (c *Checker) probeHTTP(client *http.Client, j job) error {
	ctx, cancel := context.WithTimeout(c.ctx, c.cfg.Timeout)
	defer cancel()
	path := j.hc.Path
	if path == "" {
		path = "/"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+j.addr+path, nil)
	if err != nil {
		return fmt.Errorf("http check request: %w", err)
	}
	for _, h := range strings.Split(j.hc.Headers, "|") {
		name, value, ok := strings.Cut(h, ":")
		if ok && strings.TrimSpace(name) != "" {
			req.Header.Set(strings.TrimSpace(name), strings.TrimSpace(value))
		}
	}
	req.Header.Set("User-Agent", "roster-health-check")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("http check %s: %w", req.URL, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode != j.hc.ExpectedCode {
		return fmt.Errorf("http check %s: status %d, want %d", req.URL, resp.StatusCode, j.hc.ExpectedCode)
	}
	return nil
}

// httpClient is a worker's client: no keep-alive (each check opens its
// connection, as a TCP check does), no redirects, no proxy.
func (c *Checker) httpClient() *http.Client {
	return &http.Client{
		Timeout:   c.cfg.Timeout,
		Transport: &http.Transport{DialContext: c.cfg.Dialer, DisableKeepAlives: true, MaxResponseHeaderBytes: 16 << 10},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return errors.New("redirect not followed")
		},
	}
}
