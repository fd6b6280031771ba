package node

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics. The core adds to atomic counters (stats, and the transport's
// peer.Stats) on hot paths and observes the replication lag; Collector
// reads the counters, the store and the membership at scrape time, so
// nothing is counted twice and a gauge is never stale. The agent
// registers it in the node's own Prometheus registry (never the global
// one: tests run several nodes in one process). docs/operations.md lists
// every series.

// lagBuckets are the replication lag histogram's buckets, in seconds.
var lagBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// lagObserver observes the replication lag of applied records.
type lagObserver struct{ h prometheus.Histogram }

func newLagObserver() lagObserver {
	return lagObserver{h: prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "roster_replication_lag_seconds",
		Help: "Time from a write on its node to its application here, for replicated records applied " +
			"(apply time minus the record's version clock; includes clock skew between nodes).",
		Buckets: lagBuckets,
	})}
}

// observe records the lag of a record written at clock (Unix nanoseconds)
// and applied at now. Negative values (clock skew) count as zero.
func (l lagObserver) observe(clock, now int64) {
	l.h.Observe(float64(max(now-clock, 0)) / 1e9)
}

// Collectors returns the core's metrics for the agent's registry.
func (n *Node) Collectors() []prometheus.Collector {
	return []prometheus.Collector{n.lag.h, &nodeCollector{n: n}, brakeCollector{n: n}}
}
