package node

import (
	"fmt"
	"sync/atomic"
	"time"
)

// Progress watchdog. A node that cannot make progress must stop saying it
// is healthy, so that its supervisor restarts it: every second a probe
// takes the store's lock (the one every read, write and expiry needs) and
// looks at the earliest expiry deadline. /healthz fails when the probe
// has not completed for StuckAfter (the lock is held that long: nothing
// can be read or written), or when an expiry deadline has been overdue
// for StuckAfter (the sweeper is not keeping up or not running).

// watchdog is the probe's last findings.
type watchdog struct {
	probed  atomic.Int64 // Unix ns when the last probe completed; 0: none yet
	overdue atomic.Int64 // how overdue the earliest deadline was then, ns
}

// runWatchdog probes every second until the node stops.
func (n *Node) runWatchdog() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	n.probe()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
			n.probe()
		}
	}
}

// probe takes the store's lock once and records what it found.
func (n *Node) probe() {
	next, ok := n.store.NextDeadline()
	now := n.cfg.Now()
	over := time.Duration(0)
	if ok && next.Before(now) {
		over = now.Sub(next)
	}
	n.watch.overdue.Store(int64(over))
	n.watch.probed.Store(now.UnixNano())
}

// Healthy returns nil while the node makes progress, else why not.
func (n *Node) Healthy() error {
	probed := n.watch.probed.Load()
	if probed == 0 {
		return nil // not started, or the first probe is under way
	}
	now := n.cfg.Now()
	if since := now.Sub(time.Unix(0, probed)); since > n.cfg.StuckAfter {
		return fmt.Errorf("node: stuck: the registry has not answered for %v", since.Round(time.Second))
	}
	if over := time.Duration(n.watch.overdue.Load()); over > n.cfg.StuckAfter {
		return fmt.Errorf("node: stuck: expiry is %v behind", over.Round(time.Second))
	}
	return nil
}
