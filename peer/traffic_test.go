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
		if err := tr.c.call(context.Background(), "b", addr, http.MethodPost, "/internal/v1/summary", in, nil); err != nil {
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
}
