package grpcdoor

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics of the gRPC door, under roster_grpc_.
type metrics struct {
	requests       *prometheus.CounterVec
	duration       *prometheus.HistogramVec
	opened, closed prometheus.Counter
	refused        prometheus.Counter
	setups         prometheus.Counter
	setupTimeouts  prometheus.Counter
	detectFailures prometheus.Counter
	pushes, acks   prometheus.Counter
	pushRetries    prometheus.Counter
	unknown        prometheus.Counter
	malformed      prometheus.Counter
}

func newMetrics() *metrics {
	c := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: "roster_grpc_" + name, Help: help})
	}
	return &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "roster_grpc_requests_total",
			Help: "Unary requests of the Nacos 2.x gRPC door, by request type and answer code."}, []string{"type", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "roster_grpc_request_duration_seconds",
			Help:    "Time to answer a unary request of the gRPC door, by request type.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}}, []string{"type"}),
		opened:         c("transports_opened_total", "Client transports opened."),
		closed:         c("transports_closed_total", "Client transports closed."),
		refused:        c("transports_refused_total", "Client transports closed at once: over the connection limit."),
		setups:         c("connections_setup_total", "Connections set up with ConnectionSetupRequest."),
		setupTimeouts:  c("setup_timeouts_total", "Transports closed for sending no ConnectionSetupRequest in time."),
		detectFailures: c("detection_failures_total", "Connections closed for not answering ClientDetectionRequest."),
		pushes:         c("pushes_total", "NotifySubscriberRequests sent."),
		acks:           c("push_acks_total", "NotifySubscriberRequests acknowledged by clients."),
		pushRetries:    c("push_retries_total", "Connections with a push sent again for want of its ack."),
		unknown:        c("unknown_types_total", "Payloads of a type the door does not serve."),
		malformed:      c("malformed_total", "Payloads whose body is not the JSON of their type."),
	}
}

// known request types, so the type label stays bounded.
func typeLabel(typ string) string {
	if _, ok := handlers[typ]; ok || typ == "ServerCheckRequest" {
		return typ
	}
	return "other"
}

func (m *metrics) observe(typ string, code int, d time.Duration) {
	t := typeLabel(typ)
	m.requests.WithLabelValues(t, strconv.Itoa(code)).Inc()
	m.duration.WithLabelValues(t).Observe(d.Seconds())
}

// register registers the metrics and the gauges of d's state.
func (m *metrics) register(reg prometheus.Registerer, d *Door) error {
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "roster_grpc_" + name, Help: help}, f)
	}
	counter := func(name, help string, f func() uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "roster_grpc_" + name, Help: help}, func() float64 { return float64(f()) })
	}
	cs := []prometheus.Collector{m.requests, m.duration, m.opened, m.closed, m.refused, m.setups, m.setupTimeouts,
		m.detectFailures, m.pushes, m.acks, m.pushRetries, m.unknown, m.malformed,
		gauge("connections", "Client connections set up on this node.", func() float64 { return float64(d.Connections()) }),
		gauge("held_instances", "Instances bound to the connections this node holds.", func() float64 {
			_, n := d.leases.Held()
			return float64(n)
		}),
		counter("lease_requests_total", "Connection lease requests sent to owners.", func() uint64 { return d.leases.Stats().Renewals }),
		counter("lease_failures_total", "Connection lease requests that failed.", func() uint64 { return d.leases.Stats().RenewFailures }),
		counter("lease_renewed_total", "Instances the owners renewed on this node's connection leases.", func() uint64 { return d.leases.Stats().Renewed }),
		counter("lease_reregistered_total", "Instances of live connections registered again after a deletion.", func() uint64 { return d.leases.Stats().Reregistered }),
		counter("released_instances_total", "Instances deleted because the connection holding them closed.", func() uint64 { return d.leases.Stats().Released }),
		counter("stale_connections_closed_total", "Connections bound to this node in the registry that it did not hold (an earlier incarnation's), closed.", func() uint64 { return d.leases.Stats().StaleClosed }),
		gauge("subscribed_services", "Services with gRPC subscribers on this node.", func() float64 { return float64(d.hub.len()) }),
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
