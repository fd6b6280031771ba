package agent_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/roster-io/roster/agent"
)

// benchNode returns a node (not listening) with a 20-instance service.
func benchNode(b *testing.B) *agent.Agent {
	n := inProcess(b, true)
	for i := 0; i < 20; i++ {
		req := httptest.NewRequest(http.MethodPost, "/nacos/v1/ns/instance",
			strings.NewReader(fmt.Sprintf("serviceName=bench&ip=10.0.0.%d&port=8080&metadata=zone%%3Da", i+1)))
		req.Header.Set("Content-Type", form)
		rec := httptest.NewRecorder()
		n.Handler().ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("register: %d %s", rec.Code, rec.Body)
		}
	}
	return n
}

// discard is a ResponseWriter that throws the body away.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}

// BenchmarkNacosList measures the handler cost of a hot instance/list of a
// 20-instance service: parameter parsing, a snapshot load and a write of
// cached bytes.
func BenchmarkNacosList(b *testing.B) {
	n := benchNode(b)
	h := n.Handler()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req := httptest.NewRequest(http.MethodGet, "/nacos/v1/ns/instance/list?serviceName=DEFAULT_GROUP%40%40bench&healthyOnly=true&clusters=", nil)
		w := &discard{h: http.Header{}}
		for pb.Next() {
			h.ServeHTTP(w, req)
		}
	})
}

// BenchmarkNacosBeat measures a light beat (no body) of an existing
// instance.
func BenchmarkNacosBeat(b *testing.B) {
	n := benchNode(b)
	h := n.Handler()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		w := &discard{h: http.Header{}}
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPut, "/nacos/v1/ns/instance/beat?serviceName=bench&ip=10.0.0.3&port=8080", nil)
			h.ServeHTTP(w, req)
		}
	})
}
