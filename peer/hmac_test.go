package peer

import (
	"bytes"
	"net/http"
	"testing"
	"time"
)

// BenchmarkInternalAuth measures signing and verifying one internal
// request with a 4 KiB body (a batch of a dozen deltas).
func BenchmarkInternalAuth(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Self = "n0"
	cfg.Secret = bytes.Repeat([]byte("s"), 32)
	t, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer t.Close()
	s := NewServer(t, storeReceiver{})
	body := bytes.Repeat([]byte("x"), 4096)
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:1/internal/v1/deltas", bytes.NewReader(body))
		req.Header.Set(NodeHeader, "n1")
		signRequest(req, s.key, "n1", body, time.Now())
		if err := s.verifyInternal(req); err != nil {
			b.Fatal(err)
		}
	}
}
