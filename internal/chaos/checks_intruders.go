package chaos

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// The intruders' checks (intruders.go):
//
//   - memory: no agent's resident memory grows by more than
//     Bounds.RSSGrowth from its first reading once it is ready, whatever
//     the memory-amplifying reads ask for;
//   - forged-peer: every forged peer record is refused with a 4xx, except
//     a valid record stamped an hour ahead, which may be answered 2xx only
//     if the node counted it in roster_records_from_the_future_total; and
//     no node ever lists a forged record;
//   - refused-join: the agent with another gossip key never answers
//     /readyz 200, never exits on its own, and no member lists it.

// IntruderResult sums up what the intruders' checks saw; zero when the
// intruders did not run.
type IntruderResult struct {
	// RSSProcs is how many agent processes had their memory read, and
	// WorstRSSGrowth (bytes) the largest growth of one from its first
	// reading, on WorstRSSNode.
	RSSProcs       int
	WorstRSSGrowth int64
	WorstRSSNode   string
	// Forged counts forged requests: Refused got a 4xx, FutureCounted
	// were answered 2xx and counted as from the future, Unanswered got no
	// answer or a 503 (the node was being killed, say).
	Forged, ForgedRefused, FutureCounted, ForgedUnanswered int
	// ForgedPolls counts reads of ForgedService.
	ForgedPolls int
	// OutsiderProbes counts the outsider's /readyz answers, MemberPolls
	// the cluster's member lists checked for it.
	OutsiderProbes, MemberPolls int
	// ACLAttempts counts the ACL prober's requests with bad tokens,
	// ACLRefused those answered 401, 403 or 405, ACLChanges those after
	// which the node's registry had changed (must be 0).
	ACLAttempts, ACLRefused, ACLChanges int
}

func (c *checker) checkIntruders() {
	c.checkMemory()
	c.checkForged()
	c.checkOutsider()
	c.checkACL()
}

// checkMemory holds each agent process (node and PID) to Bounds.RSSGrowth
// from its first reading once it was ready (its start-up, the sync of
// the registry, is not counted) to its highest.
func (c *checker) checkMemory() {
	type proc struct {
		node string
		pid  int
	}
	first, peak := map[proc]RSSSample{}, map[proc]RSSSample{}
	var order []proc
	for _, s := range c.s.rss {
		k := proc{s.Node, s.PID}
		if _, ok := first[k]; !ok {
			if !s.T.Before(c.readySince(s.Node, s.T)) {
				first[k], peak[k] = s, s
				order = append(order, k)
			}
		} else if s.KiB > peak[k].KiB {
			peak[k] = s
		}
	}
	r := &c.res.Intruders
	for _, k := range order {
		r.RSSProcs++
		grew := (peak[k].KiB - first[k].KiB) << 10
		if grew > r.WorstRSSGrowth {
			r.WorstRSSGrowth, r.WorstRSSNode = grew, k.node
		}
		if c.b.RSSGrowth > 0 && grew > c.b.RSSGrowth {
			c.violate(Violation{Invariant: "memory", T: peak[k].T, Node: k.node,
				Detail: fmt.Sprintf("pid %d's resident memory grew by %s, from %s at %s to %s at %s (bound %s)", k.pid,
					mib(grew), mib(first[k].KiB<<10), c.rel(first[k].T), mib(peak[k].KiB<<10), c.rel(peak[k].T), mib(c.b.RSSGrowth))})
		}
	}
}

// readySince is when node, running at t, became ready: the first ready
// event after its last start at or before t (the zero time when the
// history has no start of it; far in the future when it was not ready).
func (c *checker) readySince(node string, t time.Time) time.Time {
	var start, ready time.Time
	started := false
	for _, e := range c.s.events {
		switch {
		case e.Node != node:
		case e.Kind == EvStart && !e.T.After(t):
			start, ready, started = e.T, time.Time{}, true
		case e.Kind == EvReady && started && ready.IsZero() && !e.T.Before(start):
			ready = e.T
		}
	}
	if started && ready.IsZero() {
		return c.s.end.Add(time.Hour)
	}
	return ready
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// checkForged holds every forged request to its answer and every read of
// ForgedService to an empty list.
func (c *checker) checkForged() {
	r := &c.res.Intruders
	for _, o := range c.s.forged {
		r.Forged++
		what := fmt.Sprintf("forged %s record %s sent to %s as %s at %s", o.Kind, o.Inst, o.Node, o.As, c.rel(o.Start))
		if o.Repair {
			what = "forged repair: " + what[len("forged "):]
		}
		switch {
		case o.Code == 0 || o.Code == 503:
			r.ForgedUnanswered++
		case o.Code >= 400 && o.Code < 500:
			r.ForgedRefused++
		case o.Kind == ForgedFuture && o.Code/100 == 2 && (o.Restarted || o.FutureBefore < 0 || o.FutureAfter < 0):
			r.ForgedUnanswered++ // the counter was reset or unread: nothing to hold it to
		case o.Kind == ForgedFuture && o.Code/100 == 2 && o.FutureAfter >= o.FutureBefore+1:
			r.FutureCounted++
		case o.Kind == ForgedFuture && o.Code/100 == 2:
			c.violate(Violation{Invariant: "forged-peer", T: o.End, Node: o.Node, Inst: o.Inst.String(),
				Detail: fmt.Sprintf("%s: answered %d %s, and roster_records_from_the_future_total went from %v to %v: neither refused nor counted",
					what, o.Code, tail(o.Body, 120), o.FutureBefore, o.FutureAfter)})
		default:
			c.violate(Violation{Invariant: "forged-peer", T: o.End, Node: o.Node, Inst: o.Inst.String(),
				Detail: fmt.Sprintf("%s: answered %d %s, want a 4xx", what, o.Code, tail(o.Body, 120))})
		}
	}
	sent := map[string]ForgedOp{}
	for _, o := range c.s.forged {
		sent[o.Inst.Addr()] = o
	}
	seen := map[string]bool{}
	for _, p := range c.s.forgedPolls {
		r.ForgedPolls++
		for _, a := range p.Listed {
			if seen[p.Node+" "+a] {
				continue
			}
			seen[p.Node+" "+a] = true
			why := "which no forged request named"
			if o, ok := sent[a]; ok {
				why = fmt.Sprintf("the forged %s record sent to %s at %s (answered %d)", o.Kind, o.Node, c.rel(o.Start), o.Code)
			}
			c.violate(Violation{Invariant: "forged-peer", T: p.T, Node: p.Node, Inst: ForgedService + "/" + a,
				Detail: fmt.Sprintf("%s lists %s, %s", p.Node, a, why)})
		}
	}
}

// checkOutsider holds the outsider to never being ready and never being
// a member.
func (c *checker) checkOutsider() {
	r := &c.res.Intruders
	var readyReported, exitReported bool
	listedBy := map[string]bool{}
	for _, o := range c.s.outsider {
		if !o.Readyz {
			r.MemberPolls++
			if slices.Contains(o.Members, OutsiderName) && !listedBy[o.Node] {
				listedBy[o.Node] = true
				c.violate(Violation{Invariant: "refused-join", T: o.T, Node: o.Node,
					Detail: fmt.Sprintf("%s lists %s, the agent with another --gossip-key, among its members: %s",
						o.Node, OutsiderName, strings.Join(o.Members, " "))})
			}
			continue
		}
		r.OutsiderProbes++
		switch {
		case o.Status == 200 && !readyReported:
			readyReported = true
			c.violate(Violation{Invariant: "refused-join", T: o.T, Node: o.Node,
				Detail: fmt.Sprintf("%s, whose join the seeds refuse (another --gossip-key), answered /readyz 200 at %s", o.Node, c.rel(o.T))})
		case o.Status == OutsiderExited && !exitReported:
			exitReported = true
			c.violate(Violation{Invariant: "refused-join", T: o.T, Node: o.Node,
				Detail: fmt.Sprintf("%s, whose join the seeds refuse, exited on its own at %s; it should stay up, not ready", o.Node, c.rel(o.T))})
		}
	}
}
