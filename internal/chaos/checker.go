package chaos

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"
)

// The checker decides pass or fail from a History alone. For each
// instance it derives, from the client operations, spans in which the
// instance must be listed healthy on every live node (continuous beating,
// after the 1 s convergence allowance), the time after which a
// deregistered instance must be gone everywhere, and the expiry deadlines
// of an instance that fell silent. Then every poll of a node that counts
// (not 503, not while that node was being killed or restarted, not during
// a partition) is held to them. Owner agreement is checked on owner polls
// taken while membership was stable, and repair on the polls after the
// last fault and write have settled.
//
// Exception windows, all documented in DESIGN.md: a node's answers do not
// count from the signal that stops it until it reports ready again; a 503
// (syncing) is never a violation; from a partition until Bounds.Repair
// after it heals only repair is checked. When the owner of a silent
// instance's service changes (killed at K: taken over by K + the
// failure-detection time at the latest; or a different owner observed at
// C), the new owner restarts the instance's clock (DESIGN: "a fresh full
// timeout from the moment it took over"), so deadlines are measured from
// the later of the last beat and the takeover.

// Bounds are the limits the checker holds the history to.
type Bounds struct {
	// Convergence: an acknowledged write is visible on every live node
	// within this. Default 1s.
	Convergence time.Duration
	// BeatTimeout and DeleteTimeout are the instances' timings (the
	// preserved.* metadata the simulated instances send). Default 1.5s, 3s.
	BeatTimeout, DeleteTimeout time.Duration
	// Slack is the "+1 s" of the expiry invariant. Default 1s.
	Slack time.Duration
	// FailureDetection is the allowance when an owner dies. Default 3s.
	FailureDetection time.Duration
	// BeatGap: an instance counts as beating without a break while the
	// time from one acknowledged beat's send to the next one's answer is
	// at most this. Must stay below BeatTimeout. Default 1.2s.
	BeatGap time.Duration
	// Repair: all nodes equal this long after faults and writes stop (two
	// anti-entropy periods). Default 5s.
	Repair time.Duration
	// StableAfter: membership counts as stable this long after the last
	// cluster event. Default 5s.
	StableAfter time.Duration
	// Unanswered: a live node failing every poll for longer than this is a
	// violation. Default 2s.
	Unanswered time.Duration
	// FromLastBeat holds a silent instance's removal to its delete
	// timeout from its last beat plus FailureDetection and Slack, however
	// often its service changed owner (the crashloop scenario), instead of
	// restarting its clock at each takeover.
	FromLastBeat bool
	// ShedIsTrying counts a beat answered 429 (shed: the node is
	// overloaded) as the client trying, so an instance whose beats kept
	// coming must stay listed healthy even while they were shed (the
	// overload scenario): the registry said it was too busy, not that the
	// instance was gone. Otherwise such a beat breaks the span of
	// continuous beating like any failure.
	ShedIsTrying bool
	// RSSGrowth: no agent's resident memory may grow by more than this
	// many bytes from its first reading (checks_intruders.go); 0: not
	// checked. Default 64 MiB.
	RSSGrowth int64
}

// DefaultBounds returns the bounds of DESIGN.md for the default chaos
// timings (beat 500ms, timeout 1.5s, delete 3s).
func DefaultBounds() Bounds { return BoundsFor(Timings{}) }

// BoundsFor returns the bounds of DESIGN.md for instances with timings t.
func BoundsFor(t Timings) Bounds {
	t = t.withDefaults()
	return Bounds{Convergence: time.Second, BeatTimeout: t.Timeout, DeleteTimeout: t.Delete,
		Slack: time.Second, FailureDetection: 3 * time.Second, BeatGap: t.Timeout * 4 / 5,
		Repair: 5 * time.Second, StableAfter: 5 * time.Second, Unanswered: 2 * time.Second, RSSGrowth: 64 << 20}
}

// Violation is one broken invariant with the part of the history that
// shows it.
type Violation struct {
	Invariant string
	T         time.Time
	Node      string
	Inst      string
	Detail    string
	Excerpt   []string
}

func (v Violation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "VIOLATION %s: node=%s instance=%s: %s\n", v.Invariant, v.Node, v.Inst, v.Detail)
	for _, l := range v.Excerpt {
		b.WriteString("    " + l + "\n")
	}
	return b.String()
}

// Result is the checker's verdict.
type Result struct {
	Violations []Violation
	// WorstConvergence is the longest time from a register's
	// acknowledgement to its first sighting on a live node (an upper bound:
	// polls are ~100 ms apart).
	WorstConvergence time.Duration
	// WorstExpiryLateness is the latest a silent instance was seen
	// unhealthy or removed past its nominal time (timeout or delete timeout
	// after its last beat or owner takeover); the bound is Slack.
	WorstExpiryLateness time.Duration
	// Checked counts polls that were held to the invariants.
	Checked int
	// WorstBeatLateness is the harness' own worst delay in sending a beat
	// (written to the connection after it was due): a measure of the load
	// generator, not of roster.
	WorstBeatLateness time.Duration
	// HarnessGaps counts breaks in an instance's beating that the harness
	// caused by sending a beat late: without that lateness the beats would
	// have been close enough to hold roster to liveness across the gap.
	// Those stretches are not checked; many of them mean the machine was
	// too loaded for the run to prove much.
	HarnessGaps int
	// HarnessStalls counts the harness' own stalls (EvStall) and
	// WorstStall is the longest; nothing is checked during one or for as
	// long again after it.
	HarnessStalls int
	WorstStall    time.Duration
	// SlowestTakeover is the longest a dead owner's services went without
	// an owner that the polls saw (failure detection, which memberlist
	// slows down on an overloaded machine).
	SlowestTakeover time.Duration
	// Removals counts silent instances seen removed everywhere;
	// RemovalLatenessP99 and RemovalLatenessMax are, over them, how long
	// after their delete timeout from the last beat the last node stopped
	// listing them (an upper bound: polls are ~100 ms apart).
	Removals                               int
	RemovalLatenessP99, RemovalLatenessMax time.Duration
	// Intruders sums up the intruders' checks.
	Intruders IntruderResult
	// BrakeHolds counts the nodes' expiry-brake holds (brakes.go), and
	// BrakeMoved the silent instances whose expiry deadlines a hold of
	// their owner's moved.
	BrakeHolds, BrakeMoved int
	// Flood sums up the flood of the overload scenario (checks_flood.go).
	Flood FloodResult
}

type span struct{ from, to time.Time }

func (s span) covers(a, b time.Time) bool { return !a.Before(s.from) && !b.After(s.to) }

func overlaps(a0, a1, b0, b1 time.Time) bool { return !a1.Before(b0) && !b1.Before(a0) }

// plan is what one instance must look like, derived from its operations.
type plan struct {
	inst       Instance
	ops        []Op
	must       []span    // listed and healthy on every live node
	regs       []Op      // acknowledged registers, for convergence
	absentFrom time.Time // deregistered: gone everywhere from here
	deregAt    time.Time // deregistered: when it was acknowledged
	silent     bool
	last       time.Time // silent: end of its last operation
	unhealthy  time.Time // silent: deadlines
	absent     time.Time
	baseU      time.Time
	baseA      time.Time
	// nominal is absent before an expiry-brake hold moved it (zero: not
	// moved); the repair check settles by it (brakes.go).
	nominal time.Time
}

type checker struct {
	b       Bounds
	s       snapshot
	t0      time.Time
	down    map[string][]span // per node: answers do not count
	suspend []span            // partitions
	stalls  []span            // the harness' own stalls, with their after-effects
	plans   map[string][]*plan
	res     Result
}

// Check decides the history against the bounds.
func Check(h *History, b Bounds) Result {
	c := &checker{b: b, s: h.snapshot(), down: map[string][]span{}, plans: map[string][]*plan{}}
	c.t0 = c.s.end
	for _, o := range c.s.ops {
		c.t0 = minTime(c.t0, o.Start)
	}
	for _, o := range c.s.obs {
		c.t0 = minTime(c.t0, o.Start)
	}
	for _, e := range c.s.events {
		c.t0 = minTime(c.t0, e.T)
	}
	for _, f := range c.s.flood {
		c.t0 = minTime(c.t0, f.T)
	}
	c.windows()
	for _, o := range c.s.ops {
		c.res.WorstBeatLateness = max(c.res.WorstBeatLateness, c.lateness(o))
	}
	c.res.BrakeHolds = c.brakeHolds()
	c.buildPlans()
	c.checkObs()
	c.measure()
	c.checkOwners()
	c.checkRepair()
	c.checkAnswers()
	c.checkIntruders()
	c.checkFlood()
	for _, f := range c.s.findings {
		c.violate(Violation{Invariant: "bad-input/availability", T: f.T, Node: f.Node, Detail: f.What + ": " + f.Detail})
	}
	sort.SliceStable(c.res.Violations, func(i, j int) bool { return c.res.Violations[i].T.Before(c.res.Violations[j].T) })
	return c.res
}

func minTime(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

var forever = time.Unix(1<<40, 0)

// windows derives each node's down spans and the partition spans.
func (c *checker) windows() {
	open := map[string]time.Time{}
	var part time.Time
	for _, e := range c.s.events {
		switch e.Kind {
		case EvKill, EvTerm, EvStart:
			if _, ok := open[e.Node]; !ok {
				open[e.Node] = e.T
			}
		case EvReady:
			if from, ok := open[e.Node]; ok {
				c.down[e.Node] = append(c.down[e.Node], span{from, e.T})
				delete(open, e.Node)
			}
		case EvPartition:
			if part.IsZero() {
				part = e.T
			}
		case EvStall:
			c.stalls = append(c.stalls, span{e.Since, e.T.Add(e.T.Sub(e.Since) + c.b.Convergence)})
			c.res.HarnessStalls++
			c.res.WorstStall = max(c.res.WorstStall, e.T.Sub(e.Since))
		case EvHeal:
			if !part.IsZero() {
				c.suspend = append(c.suspend, span{part, e.T.Add(c.b.Repair)})
				part = time.Time{}
			}
		}
	}
	for n, from := range open {
		c.down[n] = append(c.down[n], span{from, forever})
	}
	if !part.IsZero() {
		c.suspend = append(c.suspend, span{part, forever})
	}
}

// counts reports whether node's answer over [a, b] counts.
func (c *checker) counts(node string, a, b time.Time) bool {
	for _, s := range c.down[node] {
		if overlaps(a, b, s.from, s.to) {
			return false
		}
	}
	for _, s := range c.suspend {
		if overlaps(a, b, s.from, s.to) {
			return false
		}
	}
	for _, s := range c.stalls {
		if overlaps(a, b, s.from, s.to) {
			return false
		}
	}
	return true
}

func (c *checker) checkObs() {
	reported := map[string]bool{} // one violation per instance, node and kind
	for _, o := range c.s.obs {
		if o.Status != 200 || !c.counts(o.Node, o.Start, o.End) {
			continue
		}
		c.res.Checked++
		for _, p := range c.plans[o.Service] {
			healthy, present := o.List[p.inst.Addr()]
			// The excerpt starts 4s before the poll, or for an expiry
			// just before the instance's last beat, so it shows the
			// silence and the faults that followed it.
			from := o.Start.Add(-4 * time.Second)
			if p.silent {
				from = minTime(from, p.last.Add(-time.Second))
			}
			if !p.absentFrom.IsZero() {
				from = minTime(from, p.deregAt.Add(-time.Second))
			}
			bad := func(inv, detail string) {
				key := inv + "|" + o.Node + "|" + p.inst.String()
				if reported[key] {
					return
				}
				reported[key] = true
				c.violate(Violation{Invariant: inv, T: o.Start, Node: o.Node, Inst: p.inst.String(), Detail: detail,
					Excerpt: c.excerpt(p.inst, o.Node, from, o.Start)})
			}
			for _, s := range p.must {
				if !s.covers(o.Start, o.End) {
					continue
				}
				inv := "liveness"
				if len(p.regs) > 0 && s.from.Sub(p.regs[0].End) <= c.convergenceOf(p.regs[0]) && o.Start.Sub(s.from) < time.Second {
					inv = "convergence"
				}
				switch {
				case !present:
					bad(inv, fmt.Sprintf("beating instance (acknowledged since %s) missing at %s%s", c.rel(s.from.Add(-c.b.Convergence)), c.rel(o.Start), c.shedNote(p, s.from, o.Start)))
				case !healthy:
					bad(inv, fmt.Sprintf("beating instance listed unhealthy at %s%s", c.rel(o.Start), c.shedNote(p, s.from, o.Start)))
				}
			}
			if !p.absentFrom.IsZero() && !o.Start.Before(p.absentFrom) && present {
				bad("convergence(deregister)", fmt.Sprintf("deregistered (acknowledged %s) still listed at %s", c.rel(p.deregAt), c.rel(o.Start)))
			}
			if p.silent {
				if !o.Start.Before(p.unhealthy) && present && healthy {
					bad("expiry(unhealthy)", fmt.Sprintf("silent since %s, deadline %s, still healthy at %s", c.rel(p.last), c.rel(p.unhealthy), c.rel(o.Start)))
				}
				if !o.Start.Before(p.absent) && present {
					bad("expiry(removed)", fmt.Sprintf("silent since %s, deadline %s, still listed at %s", c.rel(p.last), c.rel(p.absent), c.rel(o.Start)))
				}
			}
		}
	}
}

// obsOf returns the polls of service on node, sorted by Start.
func (c *checker) obsOf() map[[2]string][]Obs {
	m := map[[2]string][]Obs{}
	for _, o := range c.s.obs {
		if o.Status == 200 {
			k := [2]string{o.Node, o.Service}
			m[k] = append(m[k], o)
		}
	}
	return m
}

func (c *checker) nodes() []string {
	set := map[string]bool{}
	for _, o := range c.s.obs {
		set[o.Node] = true
	}
	return slices.Sorted(maps.Keys(set))
}

// measure computes worst convergence and worst expiry lateness.
func (c *checker) measure() {
	byNS := c.obsOf()
	nodes := c.nodes()
	first := func(list []Obs, from time.Time, limit time.Time, ok func(Obs) bool) (Obs, bool) {
		i := sort.Search(len(list), func(i int) bool { return !list[i].Start.Before(from) })
		for ; i < len(list) && list[i].Start.Before(limit); i++ {
			if ok(list[i]) {
				return list[i], true
			}
		}
		return Obs{}, false
	}
	// A node's first observation of anything: a node that did not exist
	// yet when a write was acknowledged (churn starts new ones) is not
	// late in learning it.
	firstSeen := map[string]time.Time{}
	for ns, list := range byNS {
		if len(list) > 0 && (firstSeen[ns[0]].IsZero() || list[0].Start.Before(firstSeen[ns[0]])) {
			firstSeen[ns[0]] = list[0].Start
		}
	}
	for svc, plans := range c.plans {
		for _, p := range plans {
			addr := p.inst.Addr()
			for _, r := range p.regs {
				if len(p.must) == 0 || !p.must[0].covers(r.End.Add(c.b.Convergence), r.End.Add(c.b.Convergence)) {
					continue
				}
				for _, n := range nodes {
					if !c.counts(n, r.Start, r.End.Add(c.b.Convergence)) || firstSeen[n].After(r.End.Add(c.b.Convergence)) {
						continue
					}
					if o, ok := first(byNS[[2]string{n, svc}], r.Start, r.End.Add(5*time.Second), func(o Obs) bool { _, ok := o.List[addr]; return ok }); ok {
						c.res.WorstConvergence = max(c.res.WorstConvergence, o.End.Sub(r.End))
					}
				}
				break // the first register is the one that creates it
			}
			if !p.silent {
				continue
			}
			for _, n := range nodes {
				if !c.counts(n, p.last, p.absent) {
					continue
				}
				list := byNS[[2]string{n, svc}]
				if o, ok := first(list, p.last, p.absent.Add(5*time.Second), func(o Obs) bool { h, ok := o.List[addr]; return !ok || !h }); ok {
					c.res.WorstExpiryLateness = max(c.res.WorstExpiryLateness, o.End.Sub(p.baseU.Add(c.b.BeatTimeout)))
				}
				if o, ok := first(list, p.last, p.absent.Add(5*time.Second), func(o Obs) bool { _, ok := o.List[addr]; return !ok }); ok {
					c.res.WorstExpiryLateness = max(c.res.WorstExpiryLateness, o.End.Sub(p.baseA.Add(c.b.DeleteTimeout)))
				}
			}
		}
	}
	c.removalLateness(byNS, nodes)
}

// lateness is how late the harness sent beat o (0 for a retry or one on
// time).
func (c *checker) lateness(o Op) time.Duration {
	if o.Due.IsZero() {
		return 0
	}
	return max(0, o.sentAt().Sub(o.Due))
}

func (c *checker) violate(v Violation) { c.res.Violations = append(c.res.Violations, v) }

func (c *checker) rel(t time.Time) string { return fmt.Sprintf("%.3fs", t.Sub(c.t0).Seconds()) }
