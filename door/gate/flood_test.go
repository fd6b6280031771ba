package gate

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// floodAnswer is one answer a pipelining client read.
type floodAnswer struct {
	status int
	retry  string
	after  time.Duration // since the client sent its requests
}

// pipeline sends n requests on one new connection to addr at once and
// reads the answers, each within deadline of the send.
func pipeline(addr, req string, n int, deadline time.Duration) ([]floodAnswer, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	t0 := time.Now()
	_ = c.SetDeadline(t0.Add(deadline))
	werr := make(chan error, 1)
	go func() { _, err := io.WriteString(c, strings.Repeat(req, n)); werr <- err }()
	br := bufio.NewReader(c)
	var got []floodAnswer
	for range n {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return got, fmt.Errorf("answer %d of %d: %w", len(got)+1, n, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		got = append(got, floodAnswer{resp.StatusCode, resp.Header.Get("Retry-After"), time.Since(t0)})
	}
	return got, <-werr
}

// A flood pipelined deep on few connections gets 429s at once instead of
// answers its clients have given up on, and a well-behaved client beside
// it, one request at a time, keeps getting 200s. Without shedding by
// queue age each connection's requests wait behind each other in the
// socket buffer, where the scheduler-delay signal cannot see them: the
// last of them would be answered after conns·perConn·work/conns = 3 s.
func TestGate_pipelinedFloodGets429sNotTimeouts(t *testing.T) {
	const (
		conns    = 4
		perConn  = 200
		work     = 20 * time.Millisecond  // per request handled
		limit    = 100 * time.Millisecond // reads; writes 200 ms
		giveUp   = 2 * time.Second
		deadline = 20 * time.Second // the test's own bound
	)
	reg := prometheus.NewRegistry()
	g, err := New(Config{ShedQueueAge: limit}, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	var handled atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/x", func(w http.ResponseWriter, r *http.Request) {
		handled.Add(1)
		time.Sleep(work)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: g.Wrap(mux), ConnContext: g.ConnContext}
	var served sync.WaitGroup
	served.Go(func() { _ = srv.Serve(g.Listener(ln)) })
	defer served.Wait()
	defer srv.Close()
	addr := ln.Addr().String()

	var wg sync.WaitGroup
	answers := make([][]floodAnswer, conns)
	errs := make([]error, conns+1)
	for i := range conns {
		wg.Go(func() {
			answers[i], errs[i] = pipeline(addr, "PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", perConn, deadline)
		})
	}
	var polite []floodAnswer
	wg.Go(func() {
		for range 20 {
			a, err := pipeline(addr, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n", 1, deadline)
			if err != nil {
				errs[conns] = err
				return
			}
			polite = append(polite, a...)
		}
	})
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	shed, late := 0, 0
	var lastOK, last time.Duration
	for _, as := range answers {
		for _, a := range as {
			switch {
			case a.status == http.StatusTooManyRequests && a.retry == "1":
				shed++
			case a.status == http.StatusOK:
				lastOK = max(lastOK, a.after)
			default:
				t.Fatalf("flood answer %d with Retry-After %q, want 200 or 429 with Retry-After: 1", a.status, a.retry)
			}
			last = max(last, a.after)
			if a.after > giveUp {
				late++
			}
		}
	}
	total := conns * perConn
	t.Logf("%d of %d flood requests shed, %d handled, the last 200 after %v, the last answer after %v, %d after %v", shed, total, handled.Load(), lastOK, last, late, giveUp)
	if late > 0 {
		t.Fatalf("%d of %d flood requests answered after %v: their clients had given up", late, total, giveUp)
	}
	if shed < total/2 {
		t.Fatalf("%d of %d flood requests shed, want most", shed, total)
	}
	for _, a := range polite {
		if a.status != http.StatusOK {
			t.Fatalf("a client sending one request at a time got %d beside the flood, want 200", a.status)
		}
	}
	if got := g.queue.shedWrite.Load(); int(got) != shed {
		t.Fatalf("roster_http_shed_queued_total{class=write} %v, want the %d 429s answered", got, shed)
	}
}
