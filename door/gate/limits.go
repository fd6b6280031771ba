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

// Waiting counts a blocking query while wait runs. Blocking queries hold
// no MaxConcurrent slot (see kindOf); the count shows how many wait.
func (g *Gate) Waiting(wait func()) {
	g.waiting.Add(1)
	defer g.waiting.Add(-1)
	wait()
}

// InFlight returns the client requests holding a slot and the blocking
// queries waiting.
func (g *Gate) InFlight() (counted, waiting int64) { return g.inflight.Load(), g.waiting.Load() }
