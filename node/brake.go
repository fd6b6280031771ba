package node

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The expiry brake. An owner that is behind on beats must not expire the
// instances whose beats are waiting: that is how a load spike becomes a
// mass expiry and then a re-registration storm. The brake engages when
//
//   - a beat has been waiting to be applied on this node for longer than
//     Config.ExpiryBrakeLag (queue age: the oldest beat in flight between
//     entering the owner's beat path and reaching the store), or
//   - a front door reported overload (NoteOverload) within the lag: it is
//     shedding or delaying client requests, beats among them, or
//   - a client reported beats that left it later than the lag
//     (NoteBeatsLate: a backlog waiting in the client for this busy
//     owner, which the node cannot see), within the lag, and the node's
//     own signals above showed overload within brakeClaimGuard. A
//     client's report alone never engages the brake, and one that keeps
//     reporting holds it at most brakeClaimGuard past the node's own
//     last signal.
//
// While it is engaged the sweeper applies no expiry transition; it logs
// once at WARN when it engages and once when it releases, and the metrics
// roster_expiry_brake, roster_expiry_brake_engaged_total and
// roster_expiry_brake_held_seconds_total say so. It releases after two
// lags without a signal, and then gives every live ephemeral instance the
// node owns a full fresh timeout (as a new owner does), because the beats
// it missed meanwhile were shed or late, not absent. The price: an
// instance that really stopped during an overload expires one timeout
// after the brake releases, not at its deadline.

// brakeTick is the resolution of the beat queue age; brakeTicks of them
// are tracked (12.8 s); a beat waiting longer counts as younger.
const (
	brakeTick       = 50 * time.Millisecond
	brakeTicks      = 256
	brakePoll       = 100 * time.Millisecond // the sweeper's pause while braked
	brakeClaimGuard = 30 * time.Second       // clients' reports count this long after the node's own signal
)

// brake tracks the beats in flight and whether expiries are held. Its
// zero value is ready; it is safe for concurrent use.
type brake struct {
	pending    [brakeTicks]atomic.Int64 // beats in flight by the tick they began in
	overloadAt atomic.Int64             // unix ns of the last NoteOverload
	ownAt      atomic.Int64             // unix ns of the last signal of the node's own (queue age, NoteOverload)
	episodeAt  atomic.Int64             // unix ns of the first own signal after a lag without one
	lateAt     atomic.Int64             // unix ns of the last client report of late beats
	delay      atomic.Int64             // injected beat delay, ns (DebugFaults)

	// mu guards the fields below.
	mu         sync.Mutex
	on         bool
	since      time.Time
	lastSignal time.Time
	engaged    uint64
	held       time.Duration // total time engaged, released periods only
}

// own notes a signal of the node's own at ns (unix): an overload
// episode begins with the first after a lag without one.
func (b *brake) own(ns int64, lag time.Duration) {
	if prev := b.ownAt.Swap(ns); ns-prev >= int64(lag) {
		b.episodeAt.Store(ns)
	}
}

// begin counts a beat entering the beat path at now; end(tick) counts it
// out.
func (b *brake) begin(now time.Time) int64 {
	t := now.UnixNano() / int64(brakeTick)
	b.pending[t%brakeTicks].Add(1)
	return t
}

func (b *brake) end(tick int64) { b.pending[tick%brakeTicks].Add(-1) }

// oldest returns how long the oldest beat in flight has waited (zero:
// none).
func (b *brake) oldest(now time.Time) time.Duration {
	cur := now.UnixNano() / int64(brakeTick)
	for t := cur - brakeTicks + 1; t <= cur; t++ {
		if b.pending[((t%brakeTicks)+brakeTicks)%brakeTicks].Load() > 0 {
			return time.Duration(cur-t) * brakeTick
		}
	}
	return 0
}

// check updates the brake at now with lag and reports whether expiries
// are held, whether it just released, and why it engaged (when it just
// did).
func (b *brake) check(now time.Time, lag time.Duration) (held, released bool, engagedBy string) {
	if lag <= 0 {
		return false, false, ""
	}
	age := b.oldest(now)
	ns := now.UnixNano()
	overloaded := ns-b.overloadAt.Load() < int64(lag)
	if age > lag || overloaded {
		b.own(ns, lag)
	}
	late := ns-b.lateAt.Load() < int64(lag) && ns-b.ownAt.Load() < int64(brakeClaimGuard)
	b.mu.Lock()
	defer b.mu.Unlock()
	if age > lag || overloaded || late {
		b.lastSignal = now
		if !b.on {
			b.on, b.since = true, now
			b.engaged++
			switch {
			case age > lag:
				engagedBy = "a beat has waited " + age.String() + " to be applied"
			case overloaded:
				engagedBy = "a front door is shedding or delaying requests"
			default:
				engagedBy = "clients report beats leaving late for this busy node"
			}
		}
		return true, false, engagedBy
	}
	if b.on && now.Sub(b.lastSignal) >= 2*lag {
		b.on = false
		b.held += now.Sub(b.since)
		return false, true, ""
	}
	return b.on, false, ""
}

// state returns whether the brake is on, how often it engaged and how
// long it has held expiries in total.
func (b *brake) state(now time.Time) (on bool, engaged uint64, held time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	held = b.held
	if b.on {
		held += now.Sub(b.since)
	}
	return b.on, b.engaged, held
}

// wait applies an injected beat delay (DebugFaults), or returns at once.
func (b *brake) wait(ctx context.Context) {
	d := time.Duration(b.delay.Load())
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// NoteOverload tells the core that a front door is shedding or delaying
// client requests now; the expiry brake counts it as beats waiting.
func (n *Node) NoteOverload() {
	ns := n.cfg.Now().UnixNano()
	n.brake.overloadAt.Store(ns)
	n.brake.own(ns, n.cfg.ExpiryBrakeLag)
}

// NoteBeatsLate tells the core that a client's beats left it late by
// late (the oldest of a batch, past its due time): they waited in the
// client for this node. Later than Config.ExpiryBrakeLag, it holds the
// expiry brake, but only while the node's own signals showed overload
// within brakeClaimGuard (brake.go).
func (n *Node) NoteBeatsLate(late time.Duration) {
	if lag := n.cfg.ExpiryBrakeLag; lag > 0 && late > lag {
		n.brake.lateAt.Store(n.cfg.Now().UnixNano())
	}
}

// SetBeatDelay makes this node wait d before applying each beat it owns
// (zero: none), as an overloaded owner would. It does nothing unless
// Config.DebugFaults is set.
func (n *Node) SetBeatDelay(d time.Duration) {
	if !n.cfg.DebugFaults {
		return
	}
	n.brake.delay.Store(int64(max(d, 0)))
	n.log.Warn("fault injection: delaying beats", "delay", d)
}

// ExpiryBrake reports whether the expiry brake holds expiries now, and
// how often it engaged since the node started.
func (n *Node) ExpiryBrake() (on bool, engaged uint64) {
	on, engaged, _ = n.brake.state(n.cfg.Now())
	return on, engaged
}

// holdExpiries checks the brake before a sweep: it reports whether the
// sweep must wait, logs when the brake engages or releases, and on
// release gives the owned instances a fresh timeout.
func (n *Node) holdExpiries() bool {
	now := n.cfg.Now()
	held, released, why := n.brake.check(now, n.cfg.ExpiryBrakeLag)
	if why != "" {
		n.log.Warn("expiry brake engaged: holding expiries while beats wait", "reason", why)
	}
	if released {
		refreshed := n.store.TakeOver(n.ownedPartitions(), nil).Services
		n.log.Info("expiry brake released: owned instances get a fresh timeout", "services", refreshed)
	}
	return held
}

// ownedPartitions lists the ring partitions this node times out.
func (n *Node) ownedPartitions() []int {
	var out []int
	if n.gossip == nil {
		for p := range n.ring.PartitionCount() {
			out = append(out, p)
		}
		return out
	}
	if owning := n.cluster.owning.Load(); owning != nil {
		for p, o := range *owning {
			if o {
				out = append(out, p)
			}
		}
	}
	return out
}

var (
	descBrake        = desc("roster_expiry_brake", "1 while the expiry brake holds this node's expiries (beats are waiting or a front door is shedding), else 0.")
	descBrakeEngaged = desc("roster_expiry_brake_engaged_total", "Times the expiry brake engaged.")
	descBrakeHeld    = desc("roster_expiry_brake_held_seconds_total", "Time the expiry brake held expiries.")
	descBeatAge      = desc("roster_beat_queue_age_seconds", "How long the oldest beat in flight on this node has waited to be applied (resolution 50 ms).")
)

// brakeCollector exports the brake's state.
type brakeCollector struct{ n *Node }

// Describe implements prometheus.Collector.
func (c brakeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descBrake, descBrakeEngaged, descBrakeHeld, descBeatAge} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c brakeCollector) Collect(ch chan<- prometheus.Metric) {
	now := c.n.cfg.Now()
	on, engaged, held := c.n.brake.state(now)
	v := 0.0
	if on {
		v = 1
	}
	ch <- prometheus.MustNewConstMetric(descBrake, prometheus.GaugeValue, v)
	ch <- prometheus.MustNewConstMetric(descBrakeEngaged, prometheus.CounterValue, float64(engaged))
	ch <- prometheus.MustNewConstMetric(descBrakeHeld, prometheus.CounterValue, held.Seconds())
	ch <- prometheus.MustNewConstMetric(descBeatAge, prometheus.GaugeValue, c.n.brake.oldest(now).Seconds())
}
