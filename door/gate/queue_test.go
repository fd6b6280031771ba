package gate

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// feedConn is a connection whose reads return what a test feeds.
type feedConn struct {
	net.Conn
	next []int // the sizes the next reads return
}

func (f *feedConn) Read(p []byte) (int, error) {
	if len(f.next) == 0 {
		return 0, io.EOF
	}
	n := min(f.next[0], len(p))
	f.next = f.next[1:]
	return n, nil
}

// The queue age is how long ago the stream was first seen holding the
// bytes read so far: a request behind a deep backlog is as old as the
// moment its bytes were seen waiting, a request on an idle connection is
// as old as its read.
func TestTrackedConn_ageIsALowerBound(t *testing.T) {
	var now int64
	waiting := 0
	c := newTrackedConn(&feedConn{}, func() int64 { return now })
	c.unread = func() int { return waiting }
	feed := c.Conn.(*feedConn)
	buf := make([]byte, 4096)
	ms := int64(time.Millisecond)

	// 40 KiB arrive at once; the first read at 0 takes 4 KiB and leaves
	// 36 KiB waiting (counted, since the read filled its buffer).
	waiting, feed.next = 36<<10, []int{4 << 10}
	if _, err := c.Read(buf); err != nil {
		t.Fatal(err)
	}
	// 8 KiB more have arrived by 30 ms, when a request starts and notes
	// them.
	waiting = 36<<10 + 8<<10
	now = 30 * ms
	if got := c.age(); got != 30*time.Millisecond {
		t.Fatalf("a request started 30 ms after its bytes were seen: age %v, want 30ms", got)
	}
	// The backlog read at 100 ms was seen at 0, the bytes after it at 30 ms.
	now = 100 * ms
	feed.next, waiting = []int{32 << 10}, 12<<10
	if _, err := c.Read(make([]byte, 32<<10)); err != nil {
		t.Fatal(err)
	}
	if got := c.age(); got != 100*time.Millisecond {
		t.Fatalf("the backlog seen at 0 started at 100 ms: age %v, want 100ms", got)
	}
	feed.next, waiting = []int{12 << 10}, 0
	now = 130 * ms
	if _, err := c.Read(make([]byte, 12<<10)); err != nil {
		t.Fatal(err)
	}
	if got := c.age(); got != 130*time.Millisecond-30*time.Millisecond {
		t.Fatalf("bytes seen at 30 ms started at 130 ms: age %v, want 100ms", got)
	}
	// Idle: the next request arrives by itself at 5 s and starts 1 ms after.
	now, feed.next = 5000*ms, []int{200}
	if _, err := c.Read(buf); err != nil {
		t.Fatal(err)
	}
	now += ms
	if got := c.age(); got != time.Millisecond {
		t.Fatalf("a lone request started 1 ms after its read: age %v, want 1ms", got)
	}
	// Untracked (internal traffic): never aged.
	c.untrack()
	now += 10000 * ms
	if got := c.age(); got != 0 {
		t.Fatalf("untracked connection: age %v, want 0", got)
	}
}

// With all notes in use a connection keeps noting by overwriting the
// newest, and the age stays a lower bound.
func TestTrackedConn_marksStayBounded(t *testing.T) {
	var now int64
	waiting := 0
	c := newTrackedConn(&feedConn{next: []int{8}}, func() int64 { return now })
	c.unread = func() int { return waiting }
	waiting = 1
	if _, err := c.Read(make([]byte, 8)); err != nil { // seen pipelining
		t.Fatal(err)
	}
	for i := range 10 * connMarks {
		now, waiting = int64(i)*int64(time.Millisecond), 100*(i+1)
		c.age()
	}
	if c.n != connMarks {
		t.Fatalf("%d marks held, want %d", c.n, connMarks)
	}
	c.Conn.(*feedConn).next = []int{50}
	if _, err := c.Read(make([]byte, 64)); err != nil {
		t.Fatal(err)
	}
	now = int64(time.Second)
	if got := c.age(); got != time.Second {
		t.Fatalf("bytes seen at 0 started at 1 s: age %v, want 1s", got)
	}
}

// A read waits at most the limit, a write twice it; every request older
// than the limit tells the core, shed or not.
func TestQueueShed_readsBeforeWrites(t *testing.T) {
	g, now, notes, ctx := queueShedAt(t, 100*time.Millisecond)
	*now = int64(150 * time.Millisecond)
	get := httptest.NewRequestWithContext(ctx, http.MethodGet, "/v1/instances", nil)
	put := httptest.NewRequestWithContext(ctx, http.MethodPut, "/nacos/v1/ns/instance/beat", nil)
	if err := g.queue.admit(get); !errors.Is(err, ErrTooBusy) || !strings.Contains(err.Error(), "150ms") {
		t.Fatalf("a read 150 ms old with a 100 ms limit: %v, want too busy naming the age", err)
	}
	if err := g.queue.admit(put); err != nil {
		t.Fatalf("a write 150 ms old with a 100 ms limit (200 ms for writes): %v, want admitted", err)
	}
	*now = int64(250 * time.Millisecond)
	if err := g.queue.admit(put); !errors.Is(err, ErrTooBusy) {
		t.Fatalf("a write 250 ms old: %v, want too busy", err)
	}
	if notes.Load() != 3 || g.queue.shedRead.Load() != 1 || g.queue.shedWrite.Load() != 1 {
		t.Fatalf("%d overload notes, %d reads and %d writes shed; want 3 (every request older than the limit), 1, 1", notes.Load(), g.queue.shedRead.Load(), g.queue.shedWrite.Load())
	}
}

// A client that sends one request at a time costs no count of the
// kernel's buffer: reads shorter than their buffer emptied it. A read
// that fills its buffer asks; once bytes were seen waiting, so does every
// request's start.
func TestTrackedConn_countsOnlyWhenBytesMayWait(t *testing.T) {
	var now int64
	counts, waiting := 0, 0
	c := newTrackedConn(&feedConn{}, func() int64 { return now })
	c.unread = func() int { counts++; return waiting }
	feed := c.Conn.(*feedConn)
	buf := make([]byte, 4096)
	for i := range 100 { // lone requests
		now, feed.next = int64(i)*int64(time.Millisecond), []int{300}
		if _, err := c.Read(buf); err != nil {
			t.Fatal(err)
		}
		c.age()
	}
	if counts != 0 {
		t.Fatalf("100 lone requests counted the kernel's buffer %d times, want 0", counts)
	}
	feed.next = []int{4096} // a full read: bytes may wait behind it
	if _, err := c.Read(buf); err != nil {
		t.Fatal(err)
	}
	if counts != 1 {
		t.Fatalf("a full read counted %d times, want 1", counts)
	}
	c.age() // nothing was waiting: requests still start without a count
	if counts != 1 {
		t.Fatalf("a request after a full read that left nothing counted %d times, want 1", counts)
	}
	waiting, feed.next = 8192, []int{4096}
	if _, err := c.Read(buf); err != nil {
		t.Fatal(err)
	}
	c.age()
	if counts != 3 {
		t.Fatalf("a pipelining connection counted %d times for a read and a request, want 3", counts)
	}
}

// With a limit above noteAge, a request that waited past noteAge is
// admitted and still tells the core, so the expiry brake holds as early
// as with a low limit; a younger one tells nothing.
func TestQueueShed_notesOverloadBeforeTheLimit(t *testing.T) {
	g, now, notes, ctx := queueShedAt(t, 4*time.Second)
	put := httptest.NewRequestWithContext(ctx, http.MethodPut, "/nacos/v1/ns/instance/beat", nil)
	*now = int64(noteAge / 2)
	if err := g.queue.admit(put); err != nil || notes.Load() != 0 {
		t.Fatalf("a write %v old: %v and %d notes, want admitted and none", noteAge/2, err, notes.Load())
	}
	*now = int64(noteAge + time.Millisecond)
	if err := g.queue.admit(put); err != nil || notes.Load() != 1 {
		t.Fatalf("a write just past %v old: %v and %d notes, want admitted and 1", noteAge, err, notes.Load())
	}
}

// queueShedAt returns a gate shedding by queue age with limit, the clock
// of a connection whose 100 bytes were seen at 0, the count of overload
// notes, and a request context on that connection.
func queueShedAt(t *testing.T, limit time.Duration) (*Gate, *int64, *atomic.Int64, context.Context) {
	t.Helper()
	now := new(int64)
	c := newTrackedConn(&feedConn{next: []int{100}}, func() int64 { return *now })
	if _, err := c.Read(make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	notes := new(atomic.Int64)
	g, err := New(Config{ShedQueueAge: limit}, nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	g.queue.onOverload = func() { notes.Add(1) }
	return g, now, notes, context.WithValue(context.Background(), connKey{}, c)
}
