package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// A pipe answers every request in order, with Content-Length and chunked
// bodies, and fails what is in flight when the server goes away.
func TestPipe_inOrder(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		n := r.PostForm.Get("n")
		if strings.HasSuffix(n, "7") {
			w.WriteHeader(http.StatusTooManyRequests)
		}
		if strings.HasSuffix(n, "3") {
			w.(http.Flusher).Flush() // forces a chunked body
		}
		fmt.Fprintf(w, "n=%s", n)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	host := strings.TrimPrefix(srv.URL, "http://")
	p := newPipe(ctx, host, 8) // shallower than a written batch
	const total = 2000
	var mu sync.Mutex
	got := make([]pipeAnswer, total)
	var wg sync.WaitGroup
	wg.Add(total)
	for i := range total {
		raw := formRequest("POST", host, "/x", fmt.Sprintf("n=%d", i))
		if err := p.send(raw, func(a pipeAnswer) { mu.Lock(); got[i] = a; mu.Unlock(); wg.Done() }); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	for i, a := range got {
		want := 200
		if i%10 == 7 {
			want = 429
		}
		if a.Err != nil || a.Status != want || string(a.Body) != fmt.Sprintf("n=%d", i) {
			t.Fatalf("answer %d: %+v (body %q), want status %d", i, a, a.Body, want)
		}
	}
	srv.CloseClientConnections()
	srv.Close()
	done := make(chan pipeAnswer, 1)
	if err := p.send(formRequest("POST", host, "/x", "n=1"), func(a pipeAnswer) { done <- a }); err != nil {
		t.Fatal(err)
	}
	if a := <-done; a.Err == nil {
		t.Fatalf("after the server closed: %+v, want an error", a)
	}
	cancel()
	p.wait()
}
