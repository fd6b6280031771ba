package peer

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"hash"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roster-io/roster/internal/await"
	"github.com/roster-io/roster/store"
)

// streamReceiver is a Receiver that records what it is handed; its only
// member is "n0" on loopback.
type streamReceiver struct {
	storeReceiver
	mu       sync.Mutex
	merged   int
	beats    int
	heard    int
	heardKey uint64 // the key of the last report
	renewed  int
}

func (r *streamReceiver) Merge(recs []store.Record, fresh bool) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.merged += len(recs)
	return len(recs)
}

func (r *streamReceiver) HandleBeat(context.Context, BeatCall) (time.Duration, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.beats++
	return 5 * time.Second, true, nil
}

func (r *streamReceiver) HandleHeard(_ Member, key uint64, _ []Heard) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.heard++
	r.heardKey = key
}

func (r *streamReceiver) RenewHeard(_ Member, key uint64, _ time.Duration) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if key != r.heardKey {
		return false
	}
	r.renewed++
	return true
}

func (r *streamReceiver) counts() (merged, beats, heard int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.merged, r.beats, r.heard
}

// streamPair is a sender "n0" with the stream on and a receiving server
// "n1" on a real loopback port, counting the HTTP requests it serves
// other than the stream's upgrade.
type streamPair struct {
	tr       *Transport
	srv      *Server
	recv     *streamReceiver
	http     *httptest.Server
	m        Member
	httpReqs atomic.Int64
	// refuse, while positive, is how many more upgrades the server
	// answers 403, as a node that does not know the sender yet does.
	refuse atomic.Int64
	// missing, if set, is a path the server answers 404, as a node of
	// a build without it does.
	missing atomic.Pointer[string]
}

// newStreamPair starts a pair; secret signs, useTLS serves https, and
// old makes the server one that does not know the stream.
func newStreamPair(t testing.TB, secret []byte, useTLS, old bool) *streamPair {
	t.Helper()
	return newStreamPairWith(t, secret, useTLS, old, nil)
}

// newStreamPairWith is newStreamPair with tune applied to both sides'
// configurations (nil: none).
func newStreamPairWith(t testing.TB, secret []byte, useTLS, old bool, tune func(*Config)) *streamPair {
	t.Helper()
	return newStreamPairServing(t, secret, useTLS, old, tune, nil)
}

// newStreamPairServing is newStreamPairWith whose server serves the
// receiver serve returns for the pair's own (nil: the pair's own), set
// before anything is served: replacing it afterwards races the stream's
// first frames.
func newStreamPairServing(t testing.TB, secret []byte, useTLS, old bool, tune func(*Config), serve func(*streamReceiver) Receiver) *streamPair {
	t.Helper()
	if tune == nil {
		tune = func(*Config) {}
	}
	st, err := store.New(store.Config{Node: "n1", Now: time.Now, TombstoneTTL: time.Minute, Partitions: 4093,
		Partition: func(k store.Key) int { return len(k.Service) % 4093 }})
	if err != nil {
		t.Fatal(err)
	}
	p := &streamPair{recv: &streamReceiver{storeReceiver: storeReceiver{st: st}}}
	rcfg := DefaultConfig()
	rcfg.Self, rcfg.Secret, rcfg.Timeout = "n1", secret, 2*time.Second
	tune(&rcfg)
	rtr, err := New(rcfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rtr.Close)
	var recv Receiver = p.recv
	if serve != nil {
		recv = serve(p.recv)
	}
	p.srv = NewServer(rtr, recv)
	mux := http.NewServeMux()
	p.srv.Routes(mux)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == streamPath && old {
			http.NotFound(w, r)
			return
		}
		if r.URL.Path == streamPath && p.refuse.Add(-1) >= 0 {
			http.Error(w, "peer: not a member", http.StatusForbidden)
			return
		}
		if r.URL.Path != streamPath {
			p.httpReqs.Add(1)
		}
		if m := p.missing.Load(); m != nil && r.URL.Path == *m {
			http.NotFound(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
	p.http = httptest.NewUnstartedServer(h)
	if useTLS {
		p.http.StartTLS()
	} else {
		p.http.Start()
	}
	t.Cleanup(p.srv.Close)
	t.Cleanup(p.http.Close)
	cfg := DefaultConfig()
	cfg.Self, cfg.Secret, cfg.Stream, cfg.Timeout = "n0", secret, true, 2*time.Second
	tune(&cfg)
	if useTLS {
		pool := x509.NewCertPool()
		pool.AddCert(p.http.Certificate())
		cfg.TLS, cfg.PeerTLS = true, &tls.Config{RootCAs: pool, ServerName: "example.com"}
	}
	if p.tr, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.tr.Close)
	p.m = Member{Name: "n1", HTTPAddr: p.http.Listener.Addr().String(), Epoch: 1}
	p.tr.SetMembers([]Member{p.m})
	return p
}

// exercise sends one of each kind of request and checks its effect.
func (p *streamPair) exercise(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	if !p.tr.Broadcast(sampleRecords(3)).First(ctx, 5*time.Second) {
		t.Fatal("deltas not acknowledged")
	}
	a, err := p.tr.HandOff(ctx, "n1", validBeat())
	if err != nil || !a.Found || a.Interval() != 5*time.Second {
		t.Fatalf("hand-off: %+v, %v", a, err)
	}
	if _, _, err := p.tr.Digests(ctx, p.m, []uint64{1, 2}); err != nil {
		t.Fatalf("digests: %v", err)
	}
	if failed, err := p.tr.ReportHeard(ctx, 4093, []Heard{{Partition: 7}}, 0); failed != 0 {
		t.Fatalf("heard: %v", err)
	}
	if err := p.tr.Repair(ctx, p.m, sampleRecords(2)); err != nil {
		t.Fatalf("repair: %v", err)
	}
	want := len(sampleRecords(3)) + len(sampleRecords(2))
	merged, beats, heard := p.recv.counts()
	if merged != want || beats != 1 || heard != 1 {
		t.Fatalf("receiver got %d records, %d beats, %d reports; want %d, 1, 1", merged, beats, heard, want)
	}
}

// waitStream waits until the sender's stream to n1 is up.
func (p *streamPair) waitStream(t testing.TB) {
	t.Helper()
	await.True(t, 10*time.Second, "the stream to n1 is up", func() bool {
		l := p.tr.linkOf(p.m)
		return l != nil && l.session() != nil
	})
}

// TestStream_carriesEveryKind: with the stream up, deltas, hand-offs,
// digests, reports and repairs reach the peer's core over it, with no
// HTTP request, in plain, signed and TLS clusters.
func TestStream_carriesEveryKind(t *testing.T) {
	for _, tc := range []struct {
		name   string
		secret []byte
		tls    bool
	}{{"plain", nil, false}, {"signed", []byte("cluster-secret"), false}, {"tls and signed", []byte("s"), true}} {
		t.Run(tc.name, func(t *testing.T) {
			p := newStreamPair(t, tc.secret, tc.tls, false)
			p.waitStream(t)
			p.exercise(t)
			if n := p.httpReqs.Load(); n != 0 {
				t.Errorf("%d HTTP requests besides the stream, want 0", n)
			}
			if n := p.tr.Stats().StreamCalls.Load(); n != 5 {
				t.Errorf("%d calls over the stream, want 5", n)
			}
		})
	}
}

// TestStream_fallsBackToHTTP: a peer that does not accept the stream (an
// older build) gets every request over HTTP.
func TestStream_fallsBackToHTTP(t *testing.T) {
	p := newStreamPair(t, []byte("k"), false, true)
	p.exercise(t)
	if n := p.httpReqs.Load(); n != 5 {
		t.Errorf("%d HTTP requests, want 5", n)
	}
	if n := p.tr.Stats().StreamConnects.Load(); n != 0 {
		t.Errorf("%d streams opened to a peer without them", n)
	}
}

// TestStream_reconnects: when the connection breaks, the sender opens a
// new one, and requests meanwhile go over HTTP.
func TestStream_reconnects(t *testing.T) {
	p := newStreamPair(t, []byte("k"), false, false)
	p.waitStream(t)
	p.srv.streams.mu.Lock()
	for s := range p.srv.streams.set {
		s.fail(errStreamDown)
	}
	p.srv.streams.mu.Unlock()
	p.exercise(t) // over HTTP or the new stream, whichever is up
	await.True(t, 10*time.Second, "a second stream", func() bool { return p.tr.Stats().StreamConnects.Load() >= 2 })
	p.waitStream(t)
}

// rawStream opens an upgraded connection to p's server as n0 would, for
// tests that send it what n0 never would.
func rawStream(t *testing.T, p *streamPair) (net.Conn, []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", p.m.HTTPAddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	up, err := p.tr.upgrade(ctx, conn, p.m, false)
	if err != nil || up.br.Buffered() != 0 {
		t.Fatalf("upgrade: %v", err)
	}
	_ = up.conn.SetDeadline(time.Now().Add(10 * time.Second))
	return up.conn, up.key
}

// TestStream_hostileFrames: whatever a connected peer sends, the node
// closes that connection (or answers it) and keeps serving.
func TestStream_hostileFrames(t *testing.T) {
	p := newStreamPair(t, []byte("k"), false, false)
	frame := func(key []byte, kind byte, body []byte) []byte {
		b := make([]byte, 4, 64)
		b = append(b, kind, 0, 0, 0, 9)
		b = append(b, body...)
		if key != nil {
			b = append(b, frameMAC(hmacFor(key), 'c', 0, b[4:], nil)...)
		}
		binary.BigEndian.PutUint32(b, uint32(len(b)-4))
		return b
	}
	tests := []struct {
		name       string
		send       func(key []byte) []byte
		wantStatus int // 0: the connection is closed
	}{
		{"a length past the limit", func([]byte) []byte { return []byte{0x7f, 0xff, 0xff, 0xff} }, 0},
		{"a wrong MAC", func([]byte) []byte { return frame(make([]byte, 32), frameRequest, []byte{0, 3, 'a', 'b', 'c'}) }, 0},
		{"an unknown kind", func(k []byte) []byte { return frame(k, 9, nil) }, 0},
		{"a reply to a server", func(k []byte) []byte { return frame(k, frameReply, []byte{0, 200, 0}) }, 0},
		{"a go-away on a one-way connection", func(k []byte) []byte { return frame(k, frameGoAway, nil) }, 0},
		{"a truncated request", func(k []byte) []byte { return frame(k, frameRequest, []byte{0, 200}) }, 0},
		{"an unknown path", func(k []byte) []byte { return frame(k, frameRequest, []byte{0, 3, '/', 'x', 'y'}) }, statusUseHTTP},
		{"invalid records", func(k []byte) []byte {
			return frame(k, frameRequest, append([]byte{flagMsgpack, byte(len("/internal/v1/deltas"))}, "/internal/v1/deltas\x92\xc2\x91\x80"...))
		}, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, key := rawStream(t, p)
			if _, err := conn.Write(tt.send(key)); err != nil {
				t.Fatal(err)
			}
			var hdr [4]byte
			_, err := io.ReadFull(conn, hdr[:])
			if tt.wantStatus == 0 {
				if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
					t.Fatalf("read %v, %v; want the connection closed", hdr, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			b := make([]byte, binary.BigEndian.Uint32(hdr[:]))
			if _, err := io.ReadFull(conn, b); err != nil {
				t.Fatalf("read: %v", err)
			}
			if b[0] != frameReply || binary.BigEndian.Uint16(b[5:]) != uint16(tt.wantStatus) {
				t.Errorf("got kind %d status %d, want a reply with %d", b[0], binary.BigEndian.Uint16(b[5:]), tt.wantStatus)
			}
		})
	}
	p.waitStream(t)
	p.recv.mu.Lock()
	p.recv.merged, p.recv.beats, p.recv.heard = 0, 0, 0
	p.recv.mu.Unlock()
	p.exercise(t) // the node still serves its real peer
}

// hmacFor returns an HMAC-SHA256 keyed with key.
func hmacFor(key []byte) hash.Hash { return hmac.New(sha256.New, key) }

// TestStream_slowPeer: a peer that accepts the stream and then reads
// nothing cannot make the sender wait or buffer without bound: the write
// times out, the connection is dropped, every call ends with an error
// within its timeout, and the queues stay bounded. The peer answers the
// HTTP requests that follow with 101 too, whose body (the connection)
// no timeout bounds: the sender must not read it.
func TestStream_slowPeer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns sync.WaitGroup
	stop := make(chan struct{})
	conns.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Go(func() {
				defer c.Close()
				_, _ = c.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: " + streamProto + "\r\n\r\n"))
				<-stop // and never read
			})
		}
	})
	defer func() { close(stop); ln.Close(); conns.Wait() }()
	cfg := DefaultConfig()
	cfg.Self, cfg.Stream, cfg.Timeout = "n0", true, 300*time.Millisecond
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	m := Member{Name: "n1", HTTPAddr: ln.Addr().String(), Epoch: 1}
	tr.SetMembers([]Member{m})
	await.True(t, 10*time.Second, "the stream to the slow peer is up", func() bool {
		l := tr.linkOf(m)
		return l != nil && l.session() != nil
	})
	big := sampleRecords(400) // about 100 KB a write: the socket buffers fill fast
	began := time.Now()
	var acks []*Acks
	for range 200 {
		acks = append(acks, tr.Broadcast(big))
	}
	for _, a := range acks {
		if a.First(context.Background(), 30*time.Second) {
			t.Fatal("a peer that reads nothing acknowledged a delta")
		}
	}
	if took := time.Since(began); took > 20*time.Second {
		t.Errorf("the calls took %v to fail", took)
	}
	if n := tr.Pending(); n > 8192 {
		t.Errorf("%d deltas pending, more than the queue holds", n)
	}
}

// TestStream_manyCallersAtOnce: hand-offs and deltas from many
// goroutines at once, over a signed TLS stream, are all answered, none
// waits anywhere near its timeout, and all of them went over the stream.
func TestStream_manyCallersAtOnce(t *testing.T) {
	p := newStreamPair(t, []byte("k"), true, false)
	p.waitStream(t)
	var wg sync.WaitGroup
	var slow, failed atomic.Int64
	for g := range 32 {
		wg.Go(func() {
			for i := range 50 {
				began := time.Now()
				var ok bool
				if (g+i)%2 == 0 {
					a, err := p.tr.HandOff(context.Background(), "n1", validBeat())
					ok = err == nil && a.Found
				} else {
					ok = p.tr.Broadcast(sampleRecords(2)).First(context.Background(), 5*time.Second)
				}
				if !ok {
					failed.Add(1)
				}
				if time.Since(began) > 900*time.Millisecond {
					slow.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if failed.Load() != 0 || slow.Load() != 0 {
		t.Errorf("%d of 1600 calls failed, %d took over 900 ms", failed.Load(), slow.Load())
	}
	if n := p.httpReqs.Load(); n != 0 {
		t.Errorf("%d HTTP requests, want all on the stream", n)
	}
}

// FuzzStreamFrame: no frame a peer sends makes the parser panic, and
// what it accepts stays within the frame it came in.
func FuzzStreamFrame(f *testing.F) {
	f.Add([]byte{frameRequest, 0, 0, 0, 1, flagMsgpack, 3, '/', 'x', 'y', 1, 2})
	f.Add([]byte{frameReply, 0, 0, 0, 1, 0, 200, 0, '{', '}'})
	f.Add([]byte{framePing, 0, 0, 0, 0})
	f.Add([]byte{frameRequest, 0, 0, 0, 1, 0, 255})
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := parseFrame(b)
		if err != nil {
			return
		}
		if len(fr.body)+len(fr.path) > len(b) {
			t.Fatalf("parsed %d bytes of body and path from %d", len(fr.body)+len(fr.path), len(b))
		}
	})
}
