package agent_test

import (
	"context"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/roster-io/roster/agent"
)

// TestShutdown_unusedConnectionsDoNotStallDrain: connections that never
// sent a whole request header (one silent, one mid-header), on the main
// port and the Consul one, are closed by a shutdown instead of holding
// the drain for net/http's 5 s; the silent kind is what Go's transport
// leaves behind when concurrent requests race their dials.
func TestShutdown_unusedConnectionsDoNotStallDrain(t *testing.T) {
	a, base := startNode(t, func(c *agent.Config) { c.ConsulHTTPAddr = "127.0.0.1:0" })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	for _, addr := range []string{u.Host, a.ConsulAddr()} {
		for _, sent := range []string{"", "GET /v1/status HTTP/1.1\r\nHost: x\r\n"} {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
			if _, err := c.Write([]byte(sent)); err != nil {
				t.Fatal(err)
			}
		}
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	time.Sleep(50 * time.Millisecond) // let the servers accept them
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	if err := a.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown after %v: %v", time.Since(start).Round(time.Millisecond), err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Shutdown took %v with unused connections open", d.Round(time.Millisecond))
	}
	for i, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Errorf("connection %d still open after the shutdown", i)
		}
	}
}
