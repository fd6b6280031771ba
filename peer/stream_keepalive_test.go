//go:build unix

package peer

import (
	"syscall"
	"testing"
)

// keepAliveOn reports whether SO_KEEPALIVE is set on s's socket.
func keepAliveOn(t *testing.T, s *session) bool {
	t.Helper()
	if s.tcp == nil {
		t.Fatal("the session has no TCP connection")
	}
	rc, err := s.tcp.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	var serr error
	if err := rc.Control(func(fd uintptr) { v, serr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_KEEPALIVE) }); err != nil {
		t.Fatal(err)
	}
	if serr != nil {
		t.Fatal(serr)
	}
	return v != 0
}

// TestStream_noTCPKeepAlive: both ends of a stream turn the kernel's
// keep-alive off (the dialer's and the HTTP server's sockets have it
// on): the pings check an idle connection, and keep-alive probes would
// only add segments to it.
func TestStream_noTCPKeepAlive(t *testing.T) {
	p := newStreamPair(t, nil, false, false)
	p.waitStream(t)
	if keepAliveOn(t, p.tr.linkOf(p.m).session()) {
		t.Error("the dialer's stream socket has TCP keep-alive on")
	}
	p.srv.streams.mu.Lock()
	var accepted []*session
	for s := range p.srv.streams.set {
		accepted = append(accepted, s)
	}
	p.srv.streams.mu.Unlock()
	if len(accepted) == 0 {
		t.Fatal("no accepted stream")
	}
	for _, s := range accepted {
		if keepAliveOn(t, s) {
			t.Error("the acceptor's stream socket has TCP keep-alive on")
		}
	}
}
