package gate

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// HTTP request metrics. Requests are labelled by the ServeMux pattern that
// matched them (never the raw path, so the label set stays bounded), the
// pattern's method and the status code; requests no pattern matched count
// as route "unmatched". The status writer is pooled, so instrumenting a
// request allocates nothing once the label set has been seen.

// httpBuckets reach 5m because blocking queries wait up to MaxWait.
var httpBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300}

// httpMetrics are the request series. It is safe for concurrent use.
type httpMetrics struct {
	requests *prometheus.CounterVec   // route, method, code
	duration *prometheus.HistogramVec // route, method
	// watchersRefused counts blocking queries refused beyond MaxWatchers.
	watchersRefused prometheus.Counter
	routes          sync.Map // ServeMux pattern → *routeMetrics
}

func newHTTPMetrics() *httpMetrics {
	return &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roster_http_requests_total",
			Help: "HTTP requests answered, by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "roster_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route pattern and method (blocking queries included).",
			Buckets: httpBuckets,
		}, []string{"route", "method"}),
		watchersRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "roster_blocking_queries_refused_total",
			Help: "Blocking queries refused with 429 because --max-watchers were already waiting.",
		}),
	}
}

// register adds the series to reg; waiting reports the blocking queries
// waiting now.
func (m *httpMetrics) register(reg prometheus.Registerer, waiting func() float64) error {
	gauge := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "roster_blocking_queries",
		Help: "Blocking queries waiting on this node now (limited by --max-watchers).",
	}, waiting)
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.watchersRefused, gauge} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("gate: metrics: %w", err)
		}
	}
	return nil
}

// unmatchedRoute labels requests that matched no pattern.
const unmatchedRoute = "unmatched"

// statusWriter records the status code a handler answered.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection (pprof's
// profile handler extends the write deadline through it).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

var statusWriters = sync.Pool{New: func() any { return new(statusWriter) }}

// instrument counts and times every request passed to next, which must
// route with a ServeMux (it sets r.Pattern).
func (m *httpMetrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := statusWriters.Get().(*statusWriter)
		sw.ResponseWriter, sw.code = w, 0
		next.ServeHTTP(sw, r)
		code := sw.code
		sw.ResponseWriter = nil
		statusWriters.Put(sw)

		rm := m.route(r.Pattern)
		if code == 0 || code == http.StatusOK {
			rm.ok.Inc()
		} else {
			m.requests.WithLabelValues(rm.route, rm.method, codeLabel(code)).Inc()
		}
		rm.duration.Observe(time.Since(start).Seconds())
	})
}

// routeMetrics are the series of one route pattern, looked up once.
type routeMetrics struct {
	method, route string
	ok            prometheus.Counter // code 200, by far the most common
	duration      prometheus.Observer
}

// route returns the series of a ServeMux pattern. Patterns are a fixed
// set, so the cache stays small.
func (m *httpMetrics) route(pattern string) *routeMetrics {
	if rm, ok := m.routes.Load(pattern); ok {
		return rm.(*routeMetrics)
	}
	method, route := routeLabels(pattern)
	rm := &routeMetrics{method: method, route: route,
		ok:       m.requests.WithLabelValues(route, method, "200"),
		duration: m.duration.WithLabelValues(route, method)}
	v, _ := m.routes.LoadOrStore(pattern, rm)
	return v.(*routeMetrics)
}

// routeLabels splits a ServeMux pattern ("GET /v1/instances") into its
// method and path labels.
func routeLabels(pattern string) (method, route string) {
	if pattern == "" {
		return "other", unmatchedRoute
	}
	method, route, ok := strings.Cut(pattern, " ")
	if !ok {
		return "any", pattern
	}
	return method, route
}

// codeLabel formats a status code without allocating for common codes.
func codeLabel(code int) string {
	switch code {
	case 0, http.StatusOK:
		return "200"
	case http.StatusBadRequest:
		return "400"
	case http.StatusForbidden:
		return "403"
	case http.StatusNotFound:
		return "404"
	case http.StatusMethodNotAllowed:
		return "405"
	case http.StatusRequestEntityTooLarge:
		return "413"
	case http.StatusInternalServerError:
		return "500"
	case http.StatusServiceUnavailable:
		return "503"
	}
	return strconv.Itoa(code)
}
