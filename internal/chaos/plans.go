package chaos

// The checker's plans: for each instance, from the client operations and
// the ownership changes of its service, the spans in which it must be
// listed healthy, the time after which it must be gone, and the expiry
// deadlines once it fell silent (see checker.go).

import (
	"slices"
	"time"
)

// change is an ownership change of a service: it happened (or its cause,
// the owner's death, did) at at; the new owner took over by takeover.
type change struct{ at, takeover time.Time }

// ownerChanges returns, sorted, the ownership changes of service: an owner
// seen to change, or the death of the owner (taken over at the latest
// FailureDetection later).
func (c *checker) ownerChanges(service string) []change {
	var out []change
	prev := map[string]string{}
	var owners []OwnerObs
	for _, o := range c.s.owners {
		if o.Service != service {
			continue
		}
		owners = append(owners, o)
		if p, ok := prev[o.Node]; ok && p != o.Owner {
			out = append(out, change{o.End, o.End})
		}
		prev[o.Node] = o.Owner
	}
	for _, e := range c.s.events {
		if e.Kind != EvKill && e.Kind != EvTerm && e.Kind != EvPartition {
			continue
		}
		if e.Kind == EvPartition {
			out = append(out, change{e.T, e.T.Add(c.b.FailureDetection)})
			continue
		}
		// Was e.Node the owner just before? Take the latest answers.
		was := false
		for _, o := range owners {
			if o.End.After(e.T) {
				break
			}
			if e.T.Sub(o.End) < 5*time.Second && o.Owner == e.Node {
				was = true
			}
		}
		if was {
			out = append(out, change{e.T, c.takeover(e, owners)})
		}
	}
	slices.SortFunc(out, func(a, b change) int { return a.at.Compare(b.at) })
	return out
}

// takeover is when the services of e.Node, killed or stopped while it
// owned them, had an owner again: at the latest FailureDetection after e,
// unless the survivors were slower to notice, in which case the first
// poll after e in which another node named another owner (or the killed
// node's own return, ready, if that came first). Expiry deadlines count
// from it (DESIGN: "add the failure-detection time"); how late it came is
// reported as SlowestTakeover, apart from the violations.
func (c *checker) takeover(e Event, owners []OwnerObs) time.Time {
	bound := e.T.Add(c.b.FailureDetection)
	var seen time.Time
	for _, o := range owners {
		if o.Start.After(e.T) && o.Node != e.Node && o.Owner != "" && o.Owner != e.Node {
			seen = o.End
			break
		}
	}
	for _, r := range c.s.events {
		if r.Kind == EvReady && r.Node == e.Node && r.T.After(e.T) {
			if seen.IsZero() || r.T.Before(seen) {
				seen = r.T
			}
			break
		}
	}
	if seen.IsZero() {
		return bound
	}
	c.res.SlowestTakeover = max(c.res.SlowestTakeover, seen.Sub(e.T))
	return maxTime(bound, seen)
}

func (c *checker) buildPlans() {
	by := map[Instance]*plan{}
	var order []Instance
	for _, o := range c.s.ops {
		p := by[o.Inst]
		if p == nil {
			p = &plan{inst: o.Inst}
			by[o.Inst] = p
			order = append(order, o.Inst)
		}
		p.ops = append(p.ops, o)
	}
	changes := map[string][]change{}
	for _, in := range order {
		p := by[in]
		var term *Op
		for i := range p.ops {
			if k := p.ops[i].Kind; k == OpDeregister || k == OpSilent {
				term = &p.ops[i]
				break
			}
		}
		// Spans of continuous beating.
		var seg []Op
		flush := func() {
			if len(seg) == 0 {
				return
			}
			s := span{seg[0].End.Add(c.convergenceOf(seg[0])), seg[len(seg)-1].sentAt().Add(c.b.BeatGap)}
			if term != nil && term.Start.Before(s.to) {
				s.to = term.Start
			}
			if s.from.Before(s.to) {
				p.must = append(p.must, s)
			}
			seg = nil
		}
		for _, o := range p.ops {
			if term != nil && !o.Start.Before(term.Start) {
				break
			}
			// A beat the registry shed (429) is one the client tried:
			// with Bounds.ShedIsTrying it continues a span the
			// instance's acknowledged writes began.
			tried := c.b.ShedIsTrying && o.Kind == OpBeat && o.Shed && len(seg) > 0
			if (!o.OK && !tried) || (o.Kind != OpRegister && o.Kind != OpBeat) {
				continue
			}
			if o.Kind == OpRegister {
				p.regs = append(p.regs, o)
			}
			if len(seg) > 0 && o.End.Sub(seg[len(seg)-1].sentAt()) > c.b.BeatGap {
				if late := c.lateness(o); late > 0 && o.End.Sub(seg[len(seg)-1].sentAt())-late <= c.b.BeatGap {
					c.res.HarnessGaps++
				}
				flush()
			}
			seg = append(seg, o)
		}
		flush()
		if term == nil {
			continue
		}
		if term.Kind == OpDeregister && term.OK {
			p.deregAt, p.absentFrom = term.End, term.End.Add(c.convergenceOf(*term))
			continue
		}
		// Silent, or a deregister that was not acknowledged: it expires.
		p.silent = true
		for _, o := range p.ops {
			if o.End.After(p.last) {
				p.last = o.End
			}
		}
		ch, ok := changes[in.Service]
		if !ok {
			ch = c.ownerChanges(in.Service)
			changes[in.Service] = ch
		}
		p.baseU, p.baseA = p.last, p.last
		// A takeover after the last beat, by a change that came while the
		// instance was still pending, restarts its clock at the takeover.
		for _, t := range ch {
			if t.takeover.After(p.last) && !t.at.After(p.baseU.Add(c.b.BeatTimeout+c.b.Slack)) {
				p.baseU = maxTime(p.baseU, t.takeover)
			}
			if t.takeover.After(p.last) && !t.at.After(p.baseA.Add(c.b.DeleteTimeout+c.b.Slack)) {
				p.baseA = maxTime(p.baseA, t.takeover)
			}
		}
		p.unhealthy = p.baseU.Add(c.b.BeatTimeout + c.b.Slack)
		p.absent = p.baseA.Add(c.b.DeleteTimeout + c.b.Slack)
		if c.b.FromLastBeat {
			p.absent = p.last.Add(c.b.DeleteTimeout + c.b.FailureDetection + c.b.Slack)
		}
		if c.braked(p, in.Service) {
			c.takeoversAfterBrake(p, ch)
		}
	}
	for _, in := range order {
		c.plans[in.Service] = append(c.plans[in.Service], by[in])
	}
}

// writerKilledWithin is how soon after acknowledging a write the node that
// took it may die and leave the write to anti-entropy: the write was
// acknowledged once one peer held it, and the deltas to the others may
// have died with it.
const writerKilledWithin = 200 * time.Millisecond

// convergenceOf is how long after its acknowledgement write o (a
// registration or a deregistration) must be visible on every live node:
// Bounds.Convergence, or Bounds.Repair when the node that took it was
// SIGKILLed right after (design.md: it reached one peer, and
// anti-entropy spreads it from there).
func (c *checker) convergenceOf(o Op) time.Duration {
	if o.Kind != OpRegister && o.Kind != OpDeregister {
		return c.b.Convergence
	}
	for _, e := range c.s.events {
		if e.Kind == EvKill && e.Node == o.Node && !e.T.Before(o.Start) && e.T.Sub(o.End) <= writerKilledWithin {
			return max(c.b.Convergence, c.b.Repair)
		}
	}
	return c.b.Convergence
}

// takeoversAfterBrake restarts the clock of silent instance p at a
// takeover of its service that came while an expiry-brake hold had moved
// its deadline (the owner held its brake, then died before the moved
// deadline: the new owner gives the instance a fresh timeout from its
// takeover, as for any instance still pending).
func (c *checker) takeoversAfterBrake(p *plan, ch []change) {
	for _, t := range ch {
		if !t.takeover.After(p.last) {
			continue
		}
		if !t.at.After(p.unhealthy) && t.takeover.After(p.baseU) {
			p.baseU = t.takeover
			p.unhealthy = maxTime(p.unhealthy, t.takeover.Add(c.b.BeatTimeout+c.b.Slack))
		}
		if !c.b.FromLastBeat && !t.at.After(p.absent) && t.takeover.After(p.baseA) {
			p.baseA = t.takeover
			p.absent = maxTime(p.absent, t.takeover.Add(c.b.DeleteTimeout+c.b.Slack))
		}
	}
}
