package node

import (
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics. Each node has its own Prometheus registry, never the global
// default one (tests run several nodes in one process), served at
// GET /metrics. Hot paths only add to atomic counters (the stats struct)
// or observe a histogram; nodeCollector reads the counters, the store and
// the membership at scrape time, so nothing is counted twice and a gauge
// is never stale. The README's "Metrics" table lists every series.

// Histogram buckets, in seconds.
var (
	// httpBuckets reach 5m because blocking queries wait up to MaxWait.
	httpBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300}
	lagBuckets  = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
)

// metrics is one node's registry and the instruments updated on hot
// paths. It is safe for concurrent use.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec   // route, method, code
	duration *prometheus.HistogramVec // route, method
	lag      prometheus.Histogram
	routes   sync.Map // ServeMux pattern → *routeMetrics
}

// newMetrics builds n's registry.
func newMetrics(n *Node) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roster_http_requests_total",
			Help: "HTTP requests answered, by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "roster_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route pattern and method (blocking queries included).",
			Buckets: httpBuckets,
		}, []string{"route", "method"}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "roster_replication_lag_seconds",
			Help: "Time from a write on its node to its application here, for replicated records applied " +
				"(apply time minus the record's version clock; includes clock skew between nodes).",
			Buckets: lagBuckets,
		}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.duration, m.lag,
		&nodeCollector{n: n},
	)
	return m
}

// handler serves the registry in the Prometheus text format.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// observeLag records the replication lag of a record written at clock
// (Unix nanoseconds) and applied at now. Negative values (clock skew)
// count as zero.
func (m *metrics) observeLag(clock, now int64) {
	d := now - clock
	if d < 0 {
		d = 0
	}
	m.lag.Observe(float64(d) / 1e9)
}
