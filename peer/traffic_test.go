package peer

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestClient_countsBytes: a request to a peer counts its bytes, framing
// included, both ways, on the connection the client dialed.
func TestClient_countsBytes(t *testing.T) {
	answer := strings.Repeat("a", 1000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, answer)
	}))
	defer srv.Close()
	cfg := DefaultConfig()
	cfg.Self = "a"
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	in := &summaryRequest{Partitions: make([]int, 500)}
	for range 2 {
		if err := tr.c.call(context.Background(), KindAntiEntropy, "b", addr, http.MethodPost, "/internal/v1/summary", in, nil); err != nil {
			t.Fatal(err)
		}
	}
	body, _, err := encodeBody(in)
	if err != nil {
		t.Fatal(err)
	}
	st := tr.Stats()
	if got := st.BytesSent.Load(); got < 2*uint64(len(body)) || got > 2*uint64(len(body))+2000 {
		t.Errorf("sent %d bytes, want two bodies of %d plus headers", got, len(body))
	}
	if got := st.BytesReceived.Load(); got < 2*uint64(len(answer)) || got > 2*uint64(len(answer))+2000 {
		t.Errorf("received %d bytes, want two answers of %d plus headers", got, len(answer))
	}
	// The bodies alone, by kind.
	if got, want := st.BodyBytes[KindAntiEntropy].Load(), 2*uint64(len(body)+len(answer)); got != want {
		t.Errorf("anti-entropy body bytes %d, want %d", got, want)
	}
	if got := st.Requests[KindAntiEntropy].Load(); got != 2 {
		t.Errorf("anti-entropy requests %d, want 2", got)
	}
	if got := st.Requests[KindHeard].Load() + st.BodyBytes[KindDeltas].Load(); got != 0 {
		t.Errorf("other kinds counted %d, want 0", got)
	}
}

// TestStream_countsBodiesByKind: a request answered over the peer stream
// counts its body and its answer's under its kind, as over HTTP, so the
// connection bytes beyond all bodies are the framing alone.
func TestStream_countsBodiesByKind(t *testing.T) {
	p := newStreamPair(t, nil, false, false)
	p.waitStream(t)
	mine := []uint64{1, 2}
	if _, equal, err := p.tr.Digests(context.Background(), p.m, mine); err != nil || equal {
		t.Fatalf("digests: equal %v, %v; want the peer's vector", equal, err)
	}
	if n := p.tr.Stats().StreamCalls.Load(); n != 1 {
		t.Fatalf("%d calls over the stream, want 1", n)
	}
	req, _, err := encodeBody(&digestRequest{Root: DigestRoot(mine)})
	if err != nil {
		t.Fatal(err)
	}
	// The answer is the peer's digest vector: 8 bytes a partition, base64.
	st := p.tr.Stats()
	min := uint64(len(req) + 4093*8*4/3)
	if got := st.BodyBytes[KindAntiEntropy].Load(); got < min || got > min+200 {
		t.Errorf("anti-entropy body bytes %d, want the request's %d plus a 4,093-word answer (%d–%d in all)", got, len(req), min, min+200)
	}
	for k := range NumKinds {
		if k != KindAntiEntropy && st.BodyBytes[k].Load() != 0 {
			t.Errorf("%s body bytes %d, want 0", k, st.BodyBytes[k].Load())
		}
	}
}
