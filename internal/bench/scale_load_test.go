package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestRegisterBeating_retries: a registration that fails is tried again on
// the next node, up to three times in all; only one that fails every time
// counts as failed, with its error.
func TestRegisterBeating_retries(t *testing.T) {
	var mu sync.Mutex
	tries := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Error(err)
		}
		ip := r.Form.Get("ip")
		mu.Lock()
		tries[ip]++
		n := tries[ip]
		mu.Unlock()
		// The first instance always fails, the second fails once.
		if ip == instanceIP(0) || (ip == instanceIP(1) && n == 1) {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	defer srv.Close()
	c := &Client{HTTP: srv.Client()}
	s := loadShape{urls: []string{srv.URL, srv.URL}, prefix: "t-", instances: 5, interval: time.Second, workers: 2,
		registered: make([]atomic.Bool, 5)}
	failed, retried, err := registerBeating(context.Background(), c, s)
	if failed != 1 || retried != 3 || err == nil {
		t.Fatalf("failed %d, retried %d, err %v; want 1 failed (three tries), 3 retries, its error", failed, retried, err)
	}
	for i := range s.registered {
		if got := s.registered[i].Load(); got != (i != 0) {
			t.Errorf("instance %d marked registered %v; want only those registered (beaten from then on)", i, got)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if tries[instanceIP(0)] != 3 || tries[instanceIP(1)] != 2 || tries[instanceIP(4)] != 1 {
		t.Fatalf("tries per instance %v", tries)
	}
}

func TestListedCounts(t *testing.T) {
	var seen sync.Map
	seen.Store("b", 97)
	seen.Store("a", 100)
	seen.Store("c", -1)
	if got, want := listedCounts(&seen, 100), "members listed: b: 97, c: no answer"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
