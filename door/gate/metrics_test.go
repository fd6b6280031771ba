package gate

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

func TestMetrics_routeLabelsBounded(t *testing.T) {
	for _, c := range []struct{ pattern, method, route string }{
		{"GET /v1/instances", "GET", "/v1/instances"},
		{"", "other", unmatchedRoute},
		{"/debug/", "any", "/debug/"},
	} {
		m, r := routeLabels(c.pattern)
		if m != c.method || r != c.route {
			t.Errorf("routeLabels(%q): got %q %q, want %q %q", c.pattern, m, r, c.method, c.route)
		}
	}
	for _, code := range []int{0, 200, 201, 404, 429, 503} {
		want := "200"
		if code != 0 {
			want = strconv.Itoa(code)
		}
		if got := codeLabel(code); got != want {
			t.Errorf("codeLabel(%d): got %q, want %q", code, got, want)
		}
	}
}

// BenchmarkMetricsInstrument measures what the request metrics add to one
// request: a mux with one route, with and without instrument.
func BenchmarkMetricsInstrument(b *testing.B) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/instances", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	m := newHTTPMetrics()
	for _, c := range []struct {
		name string
		h    http.Handler
	}{{"bare", mux}, {"instrumented", m.instrument(mux)}} {
		b.Run(c.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/v1/instances?service=x", nil)
			w := &discard{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				c.h.ServeHTTP(w, req)
			}
		})
	}
}

// discard is a ResponseWriter that throws the body away.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}
