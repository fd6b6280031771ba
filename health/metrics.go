package health

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the checker's Prometheus series.
type metrics struct {
	checks   *prometheus.CounterVec
	duration *prometheus.HistogramVec
	changes  *prometheus.CounterVec
	targets  prometheus.Gauge
	deferred prometheus.Counter
	denied   prometheus.Counter
	skipped  prometheus.Counter
}

func newMetrics() *metrics {
	return &metrics{
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "roster_health_checks_total",
			Help: "Server-side health checks run, by type (TCP, HTTP) and result (ok, fail)."}, []string{"type", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "roster_health_check_duration_seconds",
			Help: "Time one health check took, by type.", Buckets: prometheus.ExponentialBuckets(0.0005, 4, 9)}, []string{"type"}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "roster_health_check_changes_total",
			Help: "Instance health changes written by health checks, by new health."}, []string{"healthy"}),
		targets: prometheus.NewGauge(prometheus.GaugeOpts{Name: "roster_health_check_targets",
			Help: "Persistent instances this node checks (of the services it owns)."}),
		deferred: prometheus.NewCounter(prometheus.CounterOpts{Name: "roster_health_checks_deferred_total",
			Help: "Times due checks waited for a free worker (--health-check-workers)."}),
		denied: prometheus.NewCounter(prometheus.CounterOpts{Name: "roster_health_checks_denied_total",
			Help: "Checks not run because the instance's address is outside --health-check-allow."}),
		skipped: prometheus.NewCounter(prometheus.CounterOpts{Name: "roster_health_checks_skipped_total",
			Help: "TCP checks not made for want of a resource of this node (file descriptors, local ports); they count toward no verdict."}),
	}
}

func (m *metrics) observe(typ string, ok bool, d time.Duration) {
	res := "fail"
	if ok {
		res = "ok"
	}
	m.checks.WithLabelValues(typ, res).Inc()
	m.duration.WithLabelValues(typ).Observe(d.Seconds())
}

// Collectors returns the checker's metrics, for the agent's registry.
func (c *Checker) Collectors() []prometheus.Collector {
	m := c.metrics
	return []prometheus.Collector{m.checks, m.duration, m.changes, m.targets, m.deferred, m.denied, m.skipped}
}
