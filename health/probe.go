package health

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
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
		if c.cfg.Dialer == nil && j.ap.IsValid() {
			if err := tcpCheck(c.ctx, j.ap, time.Now().Add(c.cfg.Timeout)); err != nil {
				return fmt.Errorf("tcp connect %s: %w", j.addr, err)
			}
			return nil
		}
		return c.dialCheck(j.addr)
	case store.CheckHTTP:
		return c.probeHTTP(client, j)
	}
	return fmt.Errorf("no check of type %q", j.hc.Type)
}

// dialCheck is a TCP check through the net package: to a hostname, or
// with the Dialer of the Config.
func (c *Checker) dialCheck(addr string) error {
	ctx, cancel := context.WithTimeout(c.ctx, c.cfg.Timeout)
	defer cancel()
	conn, err := c.dial(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("tcp connect %s: %w", addr, err)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // closed by a reset, as tcpCheck does
	}
	return conn.Close()
}

// dial is the Config's Dialer, or a net.Dialer without keep-alive (a
// check's connection is closed at once; keep-alive would cost four
// setsockopt calls).
func (c *Checker) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if c.cfg.Dialer != nil {
		return c.cfg.Dialer(ctx, network, addr)
	}
	return (&net.Dialer{KeepAlive: -1}).DialContext(ctx, network, addr)
}

// locate sets where t is checked (its address, and whether Allow lets
// the checker connect there), logging once a target Allow refuses.
func (c *Checker) locate(key id, t *target) {
	port := t.ik.Port
	if !t.cluster.UseInstancePort {
		port = t.cluster.CheckPort
	}
	t.addr = net.JoinHostPort(t.ik.IP, strconv.Itoa(port))
	t.ap = netip.AddrPort{}
	ip, err := netip.ParseAddr(t.ik.IP)
	if err == nil && port > 0 && port <= 65535 && ip.Zone() == "" {
		t.ap = netip.AddrPortFrom(ip.Unmap(), uint16(port))
	}
	t.allowed = len(c.cfg.Allow) == 0
	for _, p := range c.cfg.Allow {
		if err == nil && p.Contains(ip.Unmap()) {
			t.allowed = true
			break
		}
	}
	if !t.allowed && !c.denied[key] {
		c.denied[key] = true
		c.log.Warn("health check not run: the instance's address is outside --health-check-allow",
			"service", t.key.String(), "ip", t.ik.IP, "port", port)
	}
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
		Transport: &http.Transport{DialContext: c.dial, DisableKeepAlives: true, MaxResponseHeaderBytes: 16 << 10},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return errors.New("redirect not followed")
		},
	}
}
