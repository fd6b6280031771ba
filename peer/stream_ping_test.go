package peer

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roster-io/roster/internal/await"
)

// testPing is the ping interval of these tests.
const testPing = 100 * time.Millisecond

// fakeAcceptor is a peer that upgrades every stream, naming the ping
// interval back when agree is set (else as a build that predates it),
// then reads frames, counting the pings, and answers a ping with one
// only when answer is set.
type fakeAcceptor struct {
	addr  string
	pings atomic.Int64
	conns atomic.Int64
}

func newFakeAcceptor(t *testing.T, agree, answer bool) *fakeAcceptor {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeAcceptor{addr: ln.Addr().String()}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.conns.Add(1)
			wg.Go(func() { f.serve(c, agree, answer) })
		}
	})
	return f
}

// serve upgrades c and reads its frames until it ends (or 30 s pass).
func (f *fakeAcceptor) serve(c net.Conn, agree, answer bool) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	head := "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: " + streamProto + "\r\n"
	if v := req.Header.Get(streamPingHeader); agree && v != "" {
		head += streamPingHeader + ": " + v + "\r\n"
	}
	if _, err := c.Write([]byte(head + "\r\n")); err != nil {
		return
	}
	for {
		var hdr [4]byte
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return
		}
		b := make([]byte, binary.BigEndian.Uint32(hdr[:]))
		if _, err := io.ReadFull(br, b); err != nil || len(b) == 0 || b[0] != framePing {
			return
		}
		f.pings.Add(1)
		if answer {
			_, _ = c.Write([]byte{0, 0, 0, 5, framePing, 0, 0, 0, 0})
		}
	}
}

// dialerTo returns a transport "n0" with streams on and testPing, whose
// one member is the fake acceptor.
func dialerTo(t *testing.T, f *fakeAcceptor) (*Transport, Member) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Self, cfg.Stream, cfg.Timeout, cfg.StreamPing = "n0", true, 2*time.Second, testPing
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.Close)
	m := Member{Name: "n1", HTTPAddr: f.addr, Epoch: 1}
	tr.SetMembers([]Member{m})
	return tr, m
}

// TestStream_silentAcceptorIsReplaced: a peer that agreed on the pings
// and then answers none (its process frozen, or the connection dead
// without a reset) has its stream dropped by the dialer within three
// intervals of its last frame, and the dialer connects again.
func TestStream_silentAcceptorIsReplaced(t *testing.T) {
	f := newFakeAcceptor(t, true, false)
	tr, m := dialerTo(t, f)
	await.True(t, 10*time.Second, "the stream is up", func() bool { return tr.linkOf(m).session() != nil })
	s := tr.linkOf(m).session()
	began := time.Now()
	select {
	case <-s.done():
	case <-time.After(10 * time.Second):
		t.Fatalf("a stream whose peer answers no ping is still up after 10 s (idle limit %v)", streamIdleFactor*testPing)
	}
	if took := time.Since(began); took < (streamIdleFactor-1)*testPing {
		t.Errorf("dropped after %v, before the idle limit of %v", took, streamIdleFactor*testPing)
	}
	if f.pings.Load() == 0 {
		t.Error("the dialer sent no ping before it dropped the stream")
	}
	await.True(t, 10*time.Second, "a new stream", func() bool { return f.conns.Load() >= 2 })
}

// TestStream_answeredPingsKeepItUp: a stream whose peer answers the
// pings stays up however long it is idle (here 15 intervals), with about
// one ping an interval from the dialer.
func TestStream_answeredPingsKeepItUp(t *testing.T) {
	f := newFakeAcceptor(t, true, true)
	tr, m := dialerTo(t, f)
	await.True(t, 10*time.Second, "the stream is up", func() bool { return tr.linkOf(m).session() != nil })
	s := tr.linkOf(m).session()
	const intervals = 15
	select {
	case <-s.done():
		t.Fatalf("an idle stream whose peer answers pings was dropped: %v", s.cause())
	case <-time.After(intervals * testPing):
	}
	if n := f.conns.Load(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
	if n := f.pings.Load(); n < 2 || n > intervals+2 {
		t.Errorf("%d pings in %d intervals, want about one an interval", n, intervals)
	}
	// Each a 9-byte frame (no cluster secret), counted as written.
	if b, n := tr.Stats().StreamPingBytes.Load(), uint64(f.pings.Load()); b%9 != 0 || b/9 < n || b/9 > n+1 {
		t.Errorf("%d ping bytes counted for %d pings of 9 bytes", b, n)
	}
}

// TestStream_olderAcceptorGetsItsPings: with a peer that predates the
// agreement (it names no interval back) the dialer pings at least every
// 5 s, as that build expects, and waits its 20 s for a frame, not three
// of its own intervals.
func TestStream_olderAcceptorGetsItsPings(t *testing.T) {
	f := newFakeAcceptor(t, false, false)
	tr, m := dialerTo(t, f)
	await.True(t, 10*time.Second, "the stream is up", func() bool { return tr.linkOf(m).session() != nil })
	s := tr.linkOf(m).session()
	await.True(t, 10*time.Second, "pings to the older peer", func() bool { return f.pings.Load() >= 3 })
	select {
	case <-s.done():
		t.Fatalf("the stream to an older peer was dropped after a few silent intervals: %v", s.cause())
	case <-time.After(2 * streamIdleFactor * testPing):
	}
}

// TestStream_acceptorOnlyAnswers: the accepting side of an agreed stream
// sends no ping of its own, answers the dialer's, and drops a dialer
// that went silent within three intervals. A dialer that names no
// interval (an older build) gets pings unasked.
func TestStream_acceptorOnlyAnswers(t *testing.T) {
	p := newStreamPairWith(t, nil, false, false, func(c *Config) { c.StreamPing = testPing })
	t.Run("agreed", func(t *testing.T) {
		conn, _ := rawStream(t, p)
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		began := time.Now()
		var hdr [4]byte
		_, err := io.ReadFull(conn, hdr[:])
		if err == nil {
			t.Fatalf("the acceptor wrote a frame (%v) to a dialer that sent nothing", hdr)
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatal("the acceptor kept a silent dialer's stream for 10 s")
		}
		if took := time.Since(began); took < (streamIdleFactor-1)*testPing {
			t.Errorf("dropped after %v, before the idle limit of %v", took, streamIdleFactor*testPing)
		}
	})
	t.Run("answers", func(t *testing.T) {
		conn, _ := rawStream(t, p)
		for i := range 3 {
			if _, err := conn.Write([]byte{0, 0, 0, 5, framePing, 0, 0, 0, 0}); err != nil {
				t.Fatal(err)
			}
			b := make([]byte, 9)
			if _, err := io.ReadFull(conn, b); err != nil || b[4] != framePing {
				t.Fatalf("ping %d: read %v, %v; want a ping back", i, b, err)
			}
			time.Sleep(testPing) // past half an interval: answered again
		}
		// These answers, and those to the pair's own stream's pings.
		if b := p.srv.stats.StreamPingBytes.Load(); b < 3*9 || b%9 != 0 {
			t.Errorf("%d bytes of answers counted, want at least 3 of 9", b)
		}
	})
	t.Run("older dialer", func(t *testing.T) {
		conn, err := net.Dial("tcp", p.m.HTTPAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		_, err = conn.Write([]byte("POST " + streamPath + " HTTP/1.1\r\nHost: n1\r\nConnection: Upgrade\r\nUpgrade: " + streamProto +
			"\r\n" + NodeHeader + ": n0\r\nContent-Length: 0\r\n\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get(streamPingHeader) != "" {
			t.Fatalf("upgrade: %v, %v; want 101 naming no interval", resp, err)
		}
		for i := range 3 {
			b := make([]byte, 9)
			if _, err := io.ReadFull(br, b); err != nil || b[4] != framePing {
				t.Fatalf("ping %d: read %v, %v; want a ping unasked", i, b, err)
			}
		}
	})
}
