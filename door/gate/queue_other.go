//go:build !linux

package gate

import "syscall"

// unreadOf cannot count unread bytes on this system: only the moments
// reads return are timed.
func unreadOf(syscall.RawConn) func() int { return func() int { return -1 } }
