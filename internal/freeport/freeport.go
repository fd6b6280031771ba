// Package freeport finds loopback ports for the processes that tests,
// benchmarks and the chaos suite start.
package freeport

import (
	"errors"
	"fmt"
	"net"
)

// ErrNone means no port free for both TCP and UDP was found.
var ErrNone = errors.New("freeport: no free port")

// TCPUDP returns a 127.0.0.1 port that was free for both TCP and UDP a
// moment ago (memberlist binds both). Another process may take it before
// the caller binds it, so callers retry a start that fails with "address
// already in use".
func TCPUDP() (int, error) {
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("freeport: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		l.Close()
		if err == nil {
			u.Close()
			return port, nil
		}
	}
	return 0, ErrNone
}
