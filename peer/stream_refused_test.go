package peer

import (
	"bufio"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roster-io/roster/internal/await"
)

// lockedBuffer is a log sink safe for concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// refusingPeer answers every request with 403, as a peer that has not
// learnt of the dialer yet, and counts the connections.
func refusingPeer(t *testing.T) (addr string, conns *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns = new(atomic.Int64)
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			wg.Go(func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				if _, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
					_, _ = c.Write([]byte("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"))
				}
			})
		}
	})
	return ln.Addr().String(), conns
}

// TestStream_refusalsWarnOnlyAfterTheGrace: a peer that refuses this
// node's streams (403: it has not learnt of this node yet, as while nodes
// join) is logged at debug level, not warned about, for the first
// streamRefusedGrace of refusals in a row; refusals that last longer are
// warned about.
func TestStream_refusalsWarnOnlyAfterTheGrace(t *testing.T) {
	addr, conns := refusingPeer(t)
	var logs lockedBuffer
	var now atomic.Int64
	now.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	cfg := DefaultConfig()
	cfg.Self, cfg.Stream, cfg.Timeout = "n0", true, 2*time.Second
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg.Now = func() time.Time { return time.Unix(0, now.Load()) }
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.Close)
	tr.SetMembers([]Member{{Name: "n1", HTTPAddr: addr, Epoch: 1}})
	await.True(t, 10*time.Second, "three refused dials", func() bool { return conns.Load() >= 3 })
	if strings.Contains(logs.String(), "level=WARN") {
		t.Fatalf("warned within the grace:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "peer stream refused") {
		t.Fatalf("the refusals were not logged at debug level:\n%s", logs.String())
	}
	now.Add(int64(streamRefusedGrace + time.Second))
	await.True(t, 20*time.Second, "a warning once refusals outlast the grace", func() bool {
		return strings.Contains(logs.String(), `level=WARN msg="peer stream: dial failed`)
	})
}
