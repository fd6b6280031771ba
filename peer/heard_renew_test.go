package peer

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestReportHeard_renewalCarriesOnlyKeyAndRefresh: a renewal's body is
// the report's key and the refresh, nothing else (the key covers the
// ring's size), and a receiver takes a renewal with or without the size
// (a build that sent it).
func TestReportHeard_renewalCarriesOnlyKeyAndRefresh(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
		_, _ = w.Write([]byte("{}"))
	}))
	defer srv.Close()
	now := time.Unix(1000, 0)
	tr := clockedTransport(t, &now)
	defer tr.Close()
	tr.SetMembers([]Member{{Name: "b", HTTPAddr: strings.TrimPrefix(srv.URL, "http://"), Epoch: 1}})
	parts := []Heard{{Partition: 3}, {Partition: 4000}}
	for range 2 { // the whole report, then at the refresh its renewal
		if failed, err := tr.ReportHeard(context.Background(), 4093, parts, 99*time.Second); failed != 0 {
			t.Fatal(err)
		}
		now = now.Add(99 * time.Second)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 2 {
		t.Fatalf("%d requests, want the report and a renewal", len(bodies))
	}
	var fields map[string]any
	if err := json.Unmarshal([]byte(bodies[1]), &fields); err != nil {
		t.Fatal(err)
	}
	if len(fields) != 2 || fields["same"] == nil || fields["refresh_ms"] != 99000.0 {
		t.Errorf("renewal %s: want only same and refresh_ms", bodies[1])
	}
	for _, body := range []string{bodies[1], `{"partitions":4093,"refresh_ms":99000,"same":"0123456789abcdef"}`} {
		var req heardRequest
		if err := json.Unmarshal([]byte(body), &req); err != nil {
			t.Fatal(err)
		}
		if _, err := req.decodeSame(4093); err != nil {
			t.Errorf("renewal %s refused: %v", body, err)
		}
	}
}
