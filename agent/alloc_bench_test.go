package agent_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkHandlerAllocs measures what the hot client requests allocate
// in the handler chain (gate, door, core, store) on one synced node with
// a 20-instance service, the request built once so that only the
// server's own allocations count: a light beat, a registration (of an
// instance already registered: an update, no peers to wait for) and a
// hot list.
//
//	go test -run '^$' -bench HandlerAllocs -benchmem ./agent/
func BenchmarkHandlerAllocs(b *testing.B) {
	n := benchNode(b)
	h := n.Handler()
	w := &discard{h: http.Header{}}
	b.Run("beat", func(b *testing.B) {
		req := httptest.NewRequest(http.MethodPut, "/nacos/v1/ns/instance/beat?serviceName=bench&ip=10.0.0.3&port=8080", nil)
		b.ReportAllocs()
		for b.Loop() {
			h.ServeHTTP(w, req)
		}
	})
	b.Run("register", func(b *testing.B) {
		body := "serviceName=bench&ip=10.0.0.3&port=8080&metadata=zone%3Da"
		req := httptest.NewRequest(http.MethodPost, "/nacos/v1/ns/instance", nil)
		req.Header.Set("Content-Type", form)
		rd := strings.NewReader(body)
		b.ReportAllocs()
		for b.Loop() {
			rd.Reset(body)
			req.Body, req.Form, req.PostForm = io.NopCloser(rd), nil, nil
			h.ServeHTTP(w, req)
		}
	})
	b.Run("list", func(b *testing.B) {
		req := httptest.NewRequest(http.MethodGet, "/nacos/v1/ns/instance/list?serviceName=DEFAULT_GROUP%40%40bench&healthyOnly=true&clusters=", nil)
		b.ReportAllocs()
		for b.Loop() {
			req.Form = nil
			h.ServeHTTP(w, req)
		}
	})
}
