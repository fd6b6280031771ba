package chaos

import (
	"fmt"
	"slices"
	"time"
)

// excerpt is the history from a to a second after t: cluster events, the
// instance's operations, and node's polls of its service.
func (c *checker) excerpt(in Instance, node string, a, t time.Time) []string {
	b := t.Add(time.Second)
	type line struct {
		t time.Time
		s string
	}
	var ls []line
	for _, e := range c.s.events {
		if !e.T.Before(a) && e.T.Before(b) {
			ls = append(ls, line{e.T, fmt.Sprintf("%9s event %s %s %s", c.rel(e.T), e.Kind, e.Node, e.Detail)})
		}
	}
	for _, o := range c.s.ops {
		if o.Inst == in && !o.End.Before(a) && o.Start.Before(b) {
			res := "ok"
			if !o.OK {
				res = "FAILED " + o.Detail
			}
			ls = append(ls, line{o.Start, fmt.Sprintf("%9s client %s via %s -> %s at %s", c.rel(o.Start), o.Kind, o.Node, res, c.rel(o.End))})
		}
	}
	// Polls: one line per run of the same answer.
	var prev string
	var runStart, runEnd time.Time
	runN := 0
	flush := func() {
		if runN > 0 {
			ls = append(ls, line{runStart, fmt.Sprintf("%9s poll %s: %s (%d polls until %s)", c.rel(runStart), node, prev, runN, c.rel(runEnd))})
		}
	}
	for _, o := range c.s.obs {
		if o.Node == node && o.Service == in.Service && !o.End.Before(a) && o.Start.Before(b) {
			st := "absent"
			if h, ok := o.List[in.Addr()]; ok {
				st = map[bool]string{true: "healthy", false: "UNHEALTHY"}[h]
			}
			if o.Status != 200 {
				st = fmt.Sprintf("status %d", o.Status)
			}
			if st != prev {
				flush()
				prev, runStart, runN = st, o.Start, 0
			}
			runN++
			runEnd = o.End
		}
	}
	flush()
	slices.SortStableFunc(ls, func(x, y line) int { return x.t.Compare(y.t) })
	out := make([]string, 0, len(ls))
	for _, l := range ls {
		out = append(out, l.s)
	}
	if len(out) > 40 { // keep the end, nearest the violation
		out = append([]string{fmt.Sprintf("... %d earlier lines", len(out)-40)}, out[len(out)-40:]...)
	}
	return out
}
