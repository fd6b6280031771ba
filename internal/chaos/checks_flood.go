package chaos

import (
	"fmt"
	"time"
)

// The overload invariant. Past its capacity a node must answer promptly,
// with 429 for what it cannot do, rather than let requests wait until
// their clients give up: in every second of the flood that counts (the
// node not being killed or restarted, the harness not stalled), at most
// FloodSlowShare of the flood's requests to a node may be answered after
// FloodSlow or not at all. Whether the cluster also kept beating instances
// healthy is the liveness check, with Bounds.ShedIsTrying.

// FloodOthersMax: in a second when processes outside the run used more
// than this many cores (machine.go), the nodes are not held to answering
// the flood promptly.
const FloodOthersMax = 0.5

// FloodSlowShare is the share of a node's flood requests in one second
// that may be answered slowly or not at all.
const FloodSlowShare = 0.05

// floodMinSent: a second with fewer requests to a node is not judged (a
// node just back, or the flood's last second).
const floodMinSent = 20

// FloodResult sums up the flood for the summary.
type FloodResult struct {
	Ran bool
	// Capacity and Offered are the plan's (requests answered 200 per
	// second while probing, and the rate then offered); SentRate is
	// what the generator sent per second over the flood.
	Capacity, Offered, SentRate float64
	// Over the flood (not the probe): the answers by kind, the requests
	// answered slowly, and those the generator skipped being behind.
	OK, Shed, Other, Errs, Slow, Behind int
	// MaxLatency is the longest a flood request waited for its answer
	// in a second that counted.
	MaxLatency time.Duration
	// WorstSecond is the largest share of slow or unanswered requests of
	// one node in one second that counted.
	WorstSecond float64
	// Judged counts the node-seconds held to promptness; Busy those not
	// held because other work on the machine used more than
	// FloodOthersMax, and MaxOthers the most it used (cores); Machine
	// says whether the other work was measured at all.
	Judged, Busy int
	MaxOthers    float64
	Machine      bool
}

// checkFlood holds the flood's seconds to the overload invariant.
func (c *checker) checkFlood() {
	p := c.s.floodPlan
	if p.Offered <= 0 {
		return
	}
	r := FloodResult{Ran: true, Capacity: p.Capacity, Offered: p.Offered}
	sent := 0
	for _, s := range c.s.flood {
		if s.Phase != FloodOffer {
			continue
		}
		sent += s.Sent
		r.OK += s.OK
		r.Shed += s.Shed
		r.Other += s.Other
		r.Errs += s.Errs
		r.Slow += s.Slow
		r.Behind += s.Behind
		// The requests of this second were answered by its end plus
		// FloodSlow, or counted as slow.
		if !c.counts(s.Node, s.T, s.T.Add(time.Second+FloodSlow)) || s.Sent < floodMinSent {
			continue
		}
		if c.othersBusy(s.T, s.T.Add(time.Second+FloodSlow)) {
			r.Busy++
			continue
		}
		r.Judged++
		r.MaxLatency = max(r.MaxLatency, s.MaxLatency)
		share := float64(s.Slow+s.Errs) / float64(s.Sent)
		r.WorstSecond = max(r.WorstSecond, share)
		if share > FloodSlowShare {
			c.violate(Violation{Invariant: "overload", T: s.T, Node: s.Node,
				Detail: fmt.Sprintf("of %d flood requests sent in the second from %s, %d answered after %v or more and %d not at all (%.0f%%, at most %.0f%%); %d answered 200, %d shed with 429; longest wait %s",
					s.Sent, c.rel(s.T), s.Slow, FloodSlow, s.Errs, 100*share, 100*FloodSlowShare, s.OK, s.Shed, ms(s.MaxLatency))})
		}
	}
	for _, m := range c.s.machine {
		r.Machine = true
		if !m.T.Before(p.OfferFrom) && !m.Since.After(p.OfferTo) {
			r.MaxOthers = max(r.MaxOthers, m.Others)
		}
	}
	if d := p.OfferTo.Sub(p.OfferFrom).Seconds(); d > 0 {
		r.SentRate = float64(sent) / d
	}
	c.res.Flood = r
}

// othersBusy reports whether other work on the machine used more than
// FloodOthersMax at some time in [a, b].
func (c *checker) othersBusy(a, b time.Time) bool {
	for _, m := range c.s.machine {
		if m.Others > FloodOthersMax && overlaps(a, b, m.Since, m.T) {
			return true
		}
	}
	return false
}

// shedNote says how many of p's beats from a to b were shed (answered
// 429), for a liveness violation's detail; "" if none.
func (c *checker) shedNote(p *plan, a, b time.Time) string {
	n := 0
	for _, o := range p.ops {
		if o.Kind == OpBeat && o.Shed && !o.Start.Before(a.Add(-c.b.Convergence)) && !o.Start.After(b) {
			n++
		}
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" (it kept beating; %d of its beats since were shed with 429)", n)
}

// floodNote sums up the flood for the summary's note column.
func floodNote(r FloodResult) string {
	answered := r.OK + r.Shed + r.Other
	share := 0.0
	if answered > 0 {
		share = float64(r.Shed) / float64(answered)
	}
	note := fmt.Sprintf("flood: capacity %.0f req/s, offered %.0f, sent %.0f; %d answered 200, %d shed 429 (%.0f%%), %d other, %d unanswered, %d slower than %v, longest wait %s, worst second %.1f%% slow",
		r.Capacity, r.Offered, r.SentRate, r.OK, r.Shed, 100*share, r.Other, r.Errs, r.Slow, FloodSlow, ms(r.MaxLatency), 100*r.WorstSecond)
	note += fmt.Sprintf("; %d node-seconds held to promptness", r.Judged)
	switch {
	case !r.Machine:
		note += " (other work on the machine not measured)"
	case r.Busy > 0:
		note += fmt.Sprintf(", %d not, other work on the machine using up to %.1f cores", r.Busy, r.MaxOthers)
	default:
		note += fmt.Sprintf(" (other work on the machine used at most %.1f cores)", r.MaxOthers)
	}
	if r.Behind > 0 {
		note += fmt.Sprintf("; the generator fell behind and skipped %d requests", r.Behind)
	}
	return note
}
