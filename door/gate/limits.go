package gate

import (
	"fmt"
)

// acquire takes a MaxConcurrent slot, reporting false when none is free.
func (g *Gate) acquire() bool {
	if g.inflight.Add(1) > int64(g.cfg.MaxConcurrent) {
		g.inflight.Add(-1)
		return false
	}
	return true
}

// tooBusy is the error of a request beyond MaxConcurrent.
func (g *Gate) tooBusy() error {
	return fmt.Errorf("%w: more than %d client requests in flight on this node (--max-concurrent); retry shortly", ErrTooBusy, g.cfg.MaxConcurrent)
}

// Waiting runs wait, a blocking query's wait, counted among the watchers.
// Blocking queries hold no MaxConcurrent slot (see kindOf); beyond
// MaxWatchers waiting at once it refuses with 429 instead of running wait.
func (g *Gate) Waiting(wait func()) error {
	if n := g.waiting.Add(1); g.cfg.MaxWatchers > 0 && n > int64(g.cfg.MaxWatchers) {
		g.waiting.Add(-1)
		g.metrics.watchersRefused.Inc()
		return fmt.Errorf("%w: more than %d blocking queries waiting on this node (--max-watchers); retry shortly", ErrTooBusy, g.cfg.MaxWatchers)
	}
	defer g.waiting.Add(-1)
	wait()
	return nil
}

// InFlight returns the client requests holding a slot and the blocking
// queries waiting.
func (g *Gate) InFlight() (counted, waiting int64) { return g.inflight.Load(), g.waiting.Load() }
