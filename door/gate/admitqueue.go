package gate

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Shedding by queue age. A request that waited on its connection longer
// than the limit before its handler could start (queue.go measures it)
// is answered 429 with Retry-After: 1 at once, before any handler work:
// its client is likely to give up on it soon, and answering it late
// delays every request queued behind it. A 429 costs a few
// microseconds, so a connection's backlog of stale requests drains fast
// and the requests behind them start young again; the node keeps doing
// full work for the requests it admits and never works past a request's
// limit. Reads wait at most the limit (Config.ShedQueueAge), writes
// (beats, registrations, deregistrations) twice it: under a mixed
// backlog reads go first, whose answers a client can take from its
// cache, and the beats that keep instances alive pass longest. A
// well-behaved client, one request at a time on its connection, has a
// queue age of microseconds and is never shed by this rule. Any request
// older than noteAge (or the limit, if lower), shed or not, tells the
// core (node.NoteOverload) so its expiry brake holds expiries: beats wait
// in the same queues.
//
// The limit is a deadline, not a latency target: it should be near what
// clients wait before they give up (nacos-sdk-go v1 waits 10 s, the Java
// client 1.4 up to 50 s), not near a good latency. Against a client that
// keeps more requests pipelined than the node answers within the limit
// and retries every 429 at once, a low limit forces the node to answer
// that window within the limit, mostly with 429s, which cost about half
// a beat each: with a 250 ms limit and such a generator (48
// connections, 256 deep), goodput at 16,000 beats/s offered fell to
// 2,900/s where the build without the rule answered 13,500/s. Nacos
// clients wait for a beat's answer before the next (nacos-sdk-go's
// BeatReactor), so past capacity their beats settle at a queue age of
// about instances/capacity − interval: twice the capacity at a 5 s
// interval is 5 s. With a 1 s limit (writes 2 s) three nodes at twice
// their peak answered 5 % of it, with 4 s (writes 8 s) 64–110 %, median
// 81 % (performance.md, "Overload with Nacos clients").

// noteAge is the queue age past which a request tells the core's expiry
// brake, shed or not (the limit, if lower).
const noteAge = time.Second

// queueBuckets are the buckets of the queue age histogram, in seconds.
var queueBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// queueShed sheds client requests by queue age. It is safe for
// concurrent use; a nil *queueShed admits everything.
type queueShed struct {
	limit      time.Duration // reads; writes wait twice this
	onOverload func()
	ages       prometheus.Histogram
	shedRead   atomic.Uint64
	shedWrite  atomic.Uint64
}

// admit returns nil to handle r now, or the error to refuse it with.
func (q *queueShed) admit(r *http.Request) error {
	if q == nil {
		return nil
	}
	c := connOf(r.Context())
	if c == nil {
		return nil
	}
	age := c.age()
	q.ages.Observe(age.Seconds())
	limit, class := q.limit, "read"
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		limit, class = 2*q.limit, "write"
	}
	if age > min(q.limit, noteAge) {
		// Requests, beats among them, wait in this node's sockets: the
		// expiry brake holds expiries whether or not this one is shed.
		q.onOverload()
	}
	if age <= limit {
		return nil
	}
	if class == "read" {
		q.shedRead.Add(1)
	} else {
		q.shedWrite.Add(1)
	}
	return fmt.Errorf("%w: this %s waited %v on its connection before this node could start it (limit %v, --shed-queue-age); the node is overloaded: retry shortly or on another node",
		ErrTooBusy, class, age.Round(time.Millisecond), limit)
}

// untrack stops timing the connection r came on.
func untrack(r *http.Request) {
	if c := connOf(r.Context()); c != nil {
		c.untrack()
	}
}

// startQueueShed builds the queue-age shedding (when configured) and
// registers its metrics with reg.
func (g *Gate) startQueueShed(reg prometheus.Registerer) error {
	if g.cfg.ShedQueueAge <= 0 {
		return nil
	}
	note := func() {}
	if g.core != nil {
		note = g.core.NoteOverload
	}
	q := &queueShed{limit: g.cfg.ShedQueueAge, onOverload: note,
		ages: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "roster_http_queue_age_seconds",
			Help:    "How long client requests waited on their connection before their handler could start (a lower bound; what --shed-queue-age is compared with).",
			Buckets: queueBuckets,
		})}
	shed := func(class string, n *atomic.Uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "roster_http_shed_queued_total",
			Help:        "Client requests shed with 429 because they waited on their connection longer than --shed-queue-age (reads) or twice it (writes).",
			ConstLabels: prometheus.Labels{"class": class},
		}, func() float64 { return float64(n.Load()) })
	}
	for _, c := range []prometheus.Collector{q.ages, shed("read", &q.shedRead), shed("write", &q.shedWrite)} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("gate: metrics: %w", err)
		}
	}
	g.queue = q
	return nil
}
