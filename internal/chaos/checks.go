package chaos

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// The whole-cluster checks: owner agreement once membership is stable,
// repair after the faults, and nodes that stop answering.

// stable reports whether membership was stable over [a, b].
func (c *checker) stable(a, b time.Time) bool {
	for _, e := range c.s.events {
		if e.Kind.lifecycle() && overlaps(a.Add(-c.b.StableAfter), b, e.T, e.T) {
			return false
		}
	}
	for _, s := range c.suspend {
		if overlaps(a, b, s.from, s.to) {
			return false
		}
	}
	return true
}

func (c *checker) checkOwners() {
	type key struct {
		round   int
		service string
	}
	groups := map[key][]OwnerObs{}
	var keys []key
	for _, o := range c.s.owners {
		k := key{o.Round, o.Service}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], o)
	}
	reported := map[string]bool{}
	for _, k := range keys {
		g := groups[k]
		a, b := g[0].Start, g[0].End
		for _, o := range g {
			a, b = minTime(a, o.Start), maxTime(b, o.End)
		}
		if !c.stable(a, b) {
			continue
		}
		owners := map[string][]string{}
		for _, o := range g {
			if c.counts(o.Node, o.Start, o.End) {
				owners[o.Owner] = append(owners[o.Owner], o.Node)
			}
		}
		if len(owners) > 1 || owners[""] != nil {
			if reported[k.service] {
				continue
			}
			reported[k.service] = true
			c.violate(Violation{Invariant: "one-owner", T: a, Inst: k.service,
				Detail: fmt.Sprintf("with membership stable since %s, nodes disagree on the owner: %v", c.rel(a.Add(-c.b.StableAfter)), owners)})
		}
	}
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// settle is when, with faults and writes over, all nodes must be equal.
func (c *checker) settle() time.Time {
	var quiet time.Time
	for _, e := range c.s.events {
		if e.Kind.lifecycle() {
			quiet = maxTime(quiet, e.T)
		}
	}
	for _, o := range c.s.ops {
		if o.Kind != OpBeat {
			quiet = maxTime(quiet, o.End)
		}
	}
	t := quiet.Add(c.b.Repair)
	for _, ps := range c.plans {
		for _, p := range ps {
			switch {
			case !p.nominal.IsZero(): // moved by an expiry brake: inBrakeWindow
				t = maxTime(t, p.nominal)
			case p.silent:
				t = maxTime(t, p.absent)
			}
		}
	}
	return t
}

func (c *checker) checkRepair() {
	settle := c.settle()
	type key struct {
		round   int
		service string
	}
	groups := map[key][]Obs{}
	var keys []key
	for _, o := range c.s.obs {
		if o.Status != 200 || o.Start.Before(settle) || !c.counts(o.Node, o.Start, o.End) {
			continue
		}
		k := key{o.Round, o.Service}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], o)
	}
	if len(keys) == 0 {
		c.violate(Violation{Invariant: "repair", T: c.s.end,
			Detail: fmt.Sprintf("not checked: no polls after the settle time %s (history ends %s)", c.rel(settle), c.rel(c.s.end))})
		return
	}
	for _, k := range keys {
		g := groups[k]
		for _, o := range g[1:] {
			if !c.sameList(k.service, g[0], o) {
				c.violate(Violation{Invariant: "repair", T: o.Start, Node: o.Node, Inst: k.service,
					Detail: fmt.Sprintf("after settling (%s) nodes differ: %s lists %s, %s lists %s",
						c.rel(settle), g[0].Node, fmtList(g[0].List), o.Node, fmtList(o.List))})
				return
			}
		}
	}
}

// sameList reports whether polls a and b of service list the same
// instances, leaving out those inside an expiry-brake window.
func (c *checker) sameList(service string, a, b Obs) bool {
	if maps.Equal(a.List, b.List) {
		return true
	}
	strip := func(o Obs) map[string]bool {
		m := maps.Clone(o.List)
		for addr := range m {
			if c.inBrakeWindow(service, addr, o.Start) {
				delete(m, addr)
			}
		}
		return m
	}
	return maps.Equal(strip(a), strip(b))
}

func fmtList(m map[string]bool) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		s := k
		if !m[k] {
			s += "(unhealthy)"
		}
		parts = append(parts, s)
	}
	if len(parts) > 8 {
		return fmt.Sprintf("%d instances [%s ...]", len(parts), strings.Join(parts[:8], " "))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// checkAnswers flags a node that should serve but failed every poll for
// longer than Bounds.Unanswered.
func (c *checker) checkAnswers() {
	per := map[string][]Obs{}
	for _, o := range c.s.obs {
		per[o.Node] = append(per[o.Node], o)
	}
	for _, n := range slices.Sorted(maps.Keys(per)) {
		var start time.Time
		for _, o := range per[n] {
			if !c.counts(n, o.Start, o.End) || o.Status == 200 || o.Status == 503 {
				start = time.Time{}
				continue
			}
			if start.IsZero() {
				start = o.Start
			}
			if o.End.Sub(start) > c.b.Unanswered {
				c.violate(Violation{Invariant: "availability", T: start, Node: n,
					Detail: fmt.Sprintf("live node failed every poll from %s to %s (last status %d)", c.rel(start), c.rel(o.End), o.Status)})
				break
			}
		}
	}
}
