package gate

import (
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// unreadOf returns a function that counts the bytes waiting unread in
// the kernel for rc's socket (TIOCINQ), or -1 when it cannot.
func unreadOf(rc syscall.RawConn) func() int {
	var got atomic.Int64
	probe := func(fd uintptr) {
		n, err := unix.IoctlGetInt(int(fd), unix.TIOCINQ)
		if err != nil {
			n = -1
		}
		got.Store(int64(n))
	}
	return func() int {
		if rc.Control(probe) != nil {
			return -1
		}
		return int(got.Load())
	}
}
