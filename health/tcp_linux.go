package health

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"syscall"
	"time"
)

// The TCP check's connection, made with system calls rather than the net
// package: a check needs only to know that the target's kernel completed
// the handshake (the connection is in its accept queue), and then closes
// it. What that saves per check, measured by BenchmarkTCPCheck:
//
//   - The close is a reset (SO_LINGER 0): one packet instead of the FIN
//     exchange, and no TIME_WAIT socket left on this node for a minute
//     (10,000 targets at 5 s would keep 120,000 of them, each a kernel
//     object and a timer, and they crowd the search for a free local
//     port).
//   - No name resolution, no getsockname, getpeername or TCP_NODELAY
//     calls, no net.Conn, no timer or context per check.
//   - Linux answers a repeated connect on a non-blocking socket with
//     EALREADY while the handshake runs, 0 once it completed and the
//     error that ended it otherwise. On loopback the handshake is done
//     by the second call. The checker's scheduler hands a handshake
//     still running to its poller (poller_linux.go); tcpCheck, which
//     makes a whole check in one goroutine (a worker's, when there is no
//     poller), registers the socket with the netpoller (os.NewFile) and
//     waits for writability there, as net.Dial does.

// tcpConn is a check's socket while its handshake runs.
type tcpConn struct {
	fd int
	sa syscall.Sockaddr
}

// startConn starts a connection to ap, to be closed with a reset or (for
// comparison in BenchmarkTCPCheck) with a FIN. done reports that the
// handshake already ended, err how, and then the socket is closed;
// otherwise it runs on in the tcpConn.
func startConn(ap netip.AddrPort, reset bool) (tcpConn, bool, error) {
	sa, family := sockaddr(ap)
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, syscall.IPPROTO_TCP)
	if err != nil {
		return tcpConn{}, true, os.NewSyscallError("socket", err)
	}
	conn := tcpConn{fd: fd, sa: sa}
	if reset {
		if err := syscall.SetsockoptLinger(fd, syscall.SOL_SOCKET, syscall.SO_LINGER, &syscall.Linger{Onoff: 1}); err != nil {
			conn.close()
			return tcpConn{}, true, os.NewSyscallError("setsockopt", err)
		}
	}
	switch err := syscall.Connect(fd, sa); err {
	case nil:
		conn.close()
		return tcpConn{}, true, nil
	case syscall.EINPROGRESS, syscall.EINTR:
		return conn, false, nil
	default:
		conn.close()
		return tcpConn{}, true, os.NewSyscallError("connect", err)
	}
}

// ended repeats the connect and reports whether the handshake has ended
// (and then closes the socket), and how.
func (c tcpConn) ended() (bool, error) {
	done, err := connected(c.fd, c.sa)
	if done {
		c.close()
	}
	return done, err
}

func (c tcpConn) close() { _ = syscall.Close(c.fd) }

// tcpCheck is a TCP check: connect, look again at once, and wait in the
// netpoller if the handshake still runs. It gives up at deadline or when
// ctx ends.
func tcpCheck(ctx context.Context, ap netip.AddrPort, deadline time.Time) error {
	return checkConn(ctx, ap, deadline, true)
}

func checkConn(ctx context.Context, ap netip.AddrPort, deadline time.Time, reset bool) error {
	conn, done, err := startConn(ap, reset)
	if done {
		return err
	}
	if done, err := conn.ended(); done {
		return err
	}
	return conn.wait(ctx, deadline)
}

// wait waits in the netpoller until the handshake ends, deadline passes
// or ctx ends, and closes the socket.
func (c tcpConn) wait(ctx context.Context, deadline time.Time) error {
	sa := c.sa
	f := os.NewFile(uintptr(c.fd), "tcp-check") // non-blocking: registered with the netpoller
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return fmt.Errorf("tcp check: %w", err)
	}
	if err := f.SetWriteDeadline(deadline); err != nil {
		return fmt.Errorf("tcp check: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { _ = f.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()
	var cerr error
	err = rc.Write(func(fd uintptr) bool {
		var done bool
		done, cerr = connected(int(fd), sa)
		return done
	})
	switch {
	case err == nil:
		return cerr
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, os.ErrDeadlineExceeded):
		return errors.New("connect: i/o timeout")
	}
	return fmt.Errorf("connect: %w", err)
}

// connected repeats the connect of fd and reports whether the handshake
// has ended, and how.
func connected(fd int, sa syscall.Sockaddr) (bool, error) {
	switch err := syscall.Connect(fd, sa); err {
	case nil, syscall.EISCONN:
		return true, nil
	case syscall.EALREADY, syscall.EINPROGRESS, syscall.EINTR:
		return false, nil
	default:
		return true, os.NewSyscallError("connect", err)
	}
}

// sockaddr is ap as a socket address.
func sockaddr(ap netip.AddrPort) (syscall.Sockaddr, int) {
	a := ap.Addr().Unmap()
	if a.Is4() {
		return &syscall.SockaddrInet4{Port: int(ap.Port()), Addr: a.As4()}, syscall.AF_INET
	}
	return &syscall.SockaddrInet6{Port: int(ap.Port()), Addr: a.As16()}, syscall.AF_INET6
}
