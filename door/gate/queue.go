package gate

import (
	"context"
	"crypto/tls"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// How long a request waited before its handler started. net/http serves
// the requests of one HTTP/1.1 connection one after another, so requests
// a client pipelines deep on few connections wait in the kernel's socket
// buffer and in the server's read buffer, where no goroutine waits for
// them and the scheduler delay (admit.go) cannot see them. The gate sees
// them through the bytes: every accepted connection is wrapped in a
// trackedConn that notes "by time t the stream held e bytes". A read
// that returns less than it asked for emptied the kernel's buffer, so
// what it read is all the stream held; one that fills its buffer may
// have left bytes behind, so the conn then asks the kernel how many are
// waiting unread (TIOCINQ on Linux). Once a connection has been seen
// with bytes waiting (a pipelining client), it also asks whenever a
// request starts. A client that sends one request at a time so costs no
// extra system call. A request's bytes were all read before its handler
// starts, so it arrived no later than the first
// moment the stream was seen to hold the last byte read: now minus that
// moment is a lower bound of how long the request waited (its queue
// age). The bound never overstates a wait, so a request is never shed for
// a queue it did not wait in; it understates by at most the read buffer
// (4 KiB, a few requests). Without TIOCINQ (other systems) only the
// moments reads returned are noted, which sees the read buffer but not
// the kernel's.

// connMarks is how many "held e bytes by t" notes a connection keeps.
// When they are full the newest is overwritten, which only makes later
// bytes look younger than they are: the bound stays a lower bound.
const connMarks = 32

// epoch is the base of mono.
var epoch = time.Now()

// mono returns monotonic nanoseconds since epoch.
func mono() int64 { return int64(time.Since(epoch)) }

// mark notes that by time at (mono ns) the stream held end bytes.
type mark struct{ end, at int64 }

// trackedConn is an accepted connection whose bytes are timed.
type trackedConn struct {
	net.Conn
	clock  func() int64
	unread func() int // bytes waiting in the kernel; -1: unknown
	off    atomic.Bool
	piped  atomic.Bool // bytes were seen waiting behind a read

	// mu guards the fields below.
	mu    sync.Mutex
	read  int64 // bytes read so far
	marks [connMarks]mark
	first int // index of the oldest mark
	n     int // marks held
}

func newTrackedConn(c net.Conn, clock func() int64) *trackedConn {
	t := &trackedConn{Conn: c, clock: clock, unread: func() int { return -1 }}
	if sc, ok := c.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			t.unread = unreadOf(rc)
		}
	}
	return t
}

// Read reads from the connection, noting what was read and, when the
// read filled p, what was left waiting.
func (c *trackedConn) Read(p []byte) (int, error) {
	if c.off.Load() {
		return c.Conn.Read(p)
	}
	n, err := c.Conn.Read(p)
	if n <= 0 {
		return n, err
	}
	w := 0
	if n == len(p) { // the read may have left bytes behind
		if w = c.unread(); w > 0 {
			c.piped.Store(true)
		}
	}
	at := c.clock() // after the count: the bytes it saw were there by then
	c.mu.Lock()
	c.read += int64(n)
	c.noteLocked(c.read+int64(max(w, 0)), at)
	c.mu.Unlock()
	return n, err
}

// NetConn returns the wrapped connection.
func (c *trackedConn) NetConn() net.Conn { return c.Conn }

// CloseWrite half-closes the connection when the wrapped one can.
func (c *trackedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// untrack stops timing the connection (internal traffic, hijacked
// streams): its reads cost nothing extra from then on.
func (c *trackedConn) untrack() { c.off.Store(true) }

// age returns the queue age of the request starting now on c: a lower
// bound of how long ago its bytes arrived. On a connection seen
// pipelining it also notes the bytes waiting behind it.
func (c *trackedConn) age() time.Duration {
	if c.off.Load() {
		return 0
	}
	// The count below is of bytes after read0: a read meanwhile (net/http's
	// background read) only makes the note understate.
	c.mu.Lock()
	read0 := c.read
	c.mu.Unlock()
	w := 0
	if c.piped.Load() {
		w = c.unread()
	}
	now := c.clock()
	c.mu.Lock()
	defer c.mu.Unlock()
	// Marks of bytes already read are of no more use: the next request's
	// bytes end at or after c.read.
	for c.n > 1 && c.marks[c.first].end < c.read {
		c.first = (c.first + 1) % connMarks
		c.n--
	}
	var age time.Duration
	if c.n > 0 && c.marks[c.first].end >= c.read {
		age = time.Duration(max(now-c.marks[c.first].at, 0))
	}
	if w > 0 {
		c.noteLocked(read0+int64(w), now)
	}
	return age
}

// noteLocked notes that by at the stream held end bytes. The caller
// holds mu.
func (c *trackedConn) noteLocked(end, at int64) {
	if c.n > 0 {
		last := (c.first + c.n - 1) % connMarks
		if end <= c.marks[last].end {
			return // known earlier already
		}
		if c.n == connMarks {
			c.marks[last] = mark{end, at}
			return
		}
	}
	c.marks[(c.first+c.n)%connMarks] = mark{end, at}
	c.n++
}

// trackedListener wraps every accepted connection in a trackedConn.
type trackedListener struct{ net.Listener }

func (l trackedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return newTrackedConn(c, mono), nil
}

// Listener wraps ln (below any TLS) so the gate can tell how long each
// request waited on its connection before it started. Serve with
// ConnContext. Without Config.ShedQueueAge it returns ln.
func (g *Gate) Listener(ln net.Listener) net.Listener {
	if g.cfg.ShedQueueAge <= 0 {
		return ln
	}
	return trackedListener{ln}
}

// connKey is the context key of a request's trackedConn.
type connKey struct{}

// ConnContext is the http.Server's ConnContext: it lets the gate find
// the connection of each request.
func (g *Gate) ConnContext(ctx context.Context, c net.Conn) context.Context {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	if t, ok := c.(*trackedConn); ok {
		return context.WithValue(ctx, connKey{}, t)
	}
	return ctx
}

// connOf returns the tracked connection r came on, or nil.
func connOf(ctx context.Context) *trackedConn {
	t, _ := ctx.Value(connKey{}).(*trackedConn)
	return t
}
