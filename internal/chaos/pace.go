package chaos

import (
	"context"
	"fmt"
	"time"
)

// Harness stalls. On a loaded machine the harness itself can go without
// CPU for a while: its beats leave late, its polls time out on its own
// clock, and what it records around that moment says nothing about
// roster. Pace ticks every paceTick and records an EvStall event whenever
// a tick comes more than stallAfter late; the checker does not hold the
// nodes to anything during a stall or for as long again after it (plus
// the convergence allowance), and reports the stalls apart from the
// violations.

const (
	paceTick   = 50 * time.Millisecond
	stallAfter = 300 * time.Millisecond
)

// Pace records the harness' own stalls in h until ctx ends.
func Pace(ctx context.Context, h *History) {
	t := time.NewTicker(paceTick)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			now = time.Now() // the tick's own time is when it was due, not when it ran
			if late := now.Sub(last) - paceTick; late > stallAfter {
				h.AddEvent(Event{Kind: EvStall, T: now, Since: last.Add(paceTick),
					Detail: fmt.Sprintf("harness stalled %v", late.Round(time.Millisecond))})
			}
			last = now
		}
	}
}
