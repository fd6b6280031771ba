package node

import (
	"time"

	"github.com/roster-io/roster/store"
)

// Background work: the expiry sweeper, which sleeps until the earliest
// heartbeat deadline (woken early when a nearer one is scheduled), and the
// tombstone reaper.

// idleSweep is how long the sweeper sleeps when nothing is scheduled.
const idleSweep = time.Minute

// runExpiry applies expiry transitions as their deadlines pass.
func (n *Node) runExpiry() {
	timer := time.NewTimer(idleSweep)
	defer timer.Stop()
	for {
		d := idleSweep
		if next, ok := n.store.NextDeadline(); ok {
			d = next.Sub(n.cfg.Now())
		}
		if d <= 0 {
			if n.sweep() {
				continue
			}
			d = brakePoll // the expiry brake holds them (brake.go)
		}
		timer.Reset(d)
		select {
		case <-n.ctx.Done():
			return
		case <-n.store.Wake():
		case <-timer.C:
			n.sweep()
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// sweep applies the due transitions, unless the expiry brake holds them
// (then it reports false). It logs each at debug level and one summary
// per sweep at info level, so a mass expiry cannot flood the log.
func (n *Node) sweep() bool {
	if n.holdExpiries() {
		return false
	}
	now := n.cfg.Now()
	trans := n.store.Sweep(n.owns)
	// The transitions are visible from here on: how late each is counts
	// from its deadline to now, not to when the sweep began.
	published := n.cfg.Now()
	for i := range trans {
		n.stats.expiryLate.record(published.Sub(trans[i].Deadline))
	}
	if len(trans) > 0 {
		recs := make([]store.Record, 0, len(trans))
		for i := range trans {
			recs = append(recs, store.Record{Key: trans[i].Key, Instance: &trans[i].Instance})
		}
		_ = n.replicate(n.ctx, recs, false)
	}
	var unhealthy, removed int
	var late time.Duration
	for _, t := range trans {
		what := "instance unhealthy"
		if t.Removed {
			what = "instance expired"
			removed++
		} else {
			unhealthy++
		}
		late = max(late, now.Sub(t.Deadline))
		n.log.Debug(what, "service", t.Key.String(), "instance", t.Instance.ID(t.Key),
			"late", now.Sub(t.Deadline).Round(time.Microsecond))
	}
	n.stats.expiredUnhealthy.Add(uint64(unhealthy))
	n.stats.expiredRemoved.Add(uint64(removed))
	if len(trans) > 0 {
		n.log.Info("instances expired", "unhealthy", unhealthy, "removed", removed,
			"late", late.Round(time.Microsecond))
	}
	return true
}

// runReaper drops old tombstones periodically.
func (n *Node) runReaper() {
	t := time.NewTicker(n.cfg.ReapInterval)
	defer t.Stop()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
			if dropped := n.store.Reap(); dropped > 0 {
				n.log.Debug("tombstones reaped", "count", dropped)
			}
		}
	}
}
