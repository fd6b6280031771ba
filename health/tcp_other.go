//go:build !linux

package health

import (
	"context"
	"net"
	"net/netip"
	"time"
)

// tcpCheck connects to ap and closes the connection with a reset
// (SO_LINGER 0), through the net package; on Linux it is made with
// system calls (tcp_linux.go).
func tcpCheck(ctx context.Context, ap netip.AddrPort, deadline time.Time) error {
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	c, err := (&net.Dialer{KeepAlive: -1}).DialContext(ctx, "tcp", ap.String())
	if err != nil {
		return err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	return c.Close()
}
