package store

import (
	"math"
	"slices"
	"time"
)

// Takeover of expiry. The owner of a service alone hears its instances'
// beats, so a node that takes a service over does not know when they were
// last heard. Giving every instance a full fresh timeout from the takeover
// is safe but compounds under churn: a silent instance whose service
// changes owner every few seconds is never removed. So owners report,
// when it changes, which of their instances have gone quiet and since
// when (Quiet), and the node that takes a partition over counts from that
// report (TakeOver):
//
//   - an instance the report lists as quiet for age a was last heard at
//     At - a; it gets no fresh timeout, only a grace from the takeover of
//     one beat interval (its beat timeout if shorter; at least
//     MinTakeoverGrace), in case it resumed beating after the report and
//     its beats are still finding their way to the new owner;
//   - an instance the report does not list was heard within QuietAfter of
//     the last time the report is known to have held (Hint.Until, else
//     At); its delete deadline counts from that time - QuietAfter, and neither
//     transition comes before a full beat timeout (at least
//     MinTakeoverGrace) from the takeover, as with a fresh timeout;
//   - without a report (or for a persistent instance) nothing is known:
//     a full fresh timeout from the takeover, as before.
//
// Direct evidence held here (a registration or beat this node handled)
// always counts: the clock never starts earlier than it. The arrival of
// a peer's record does not: a node that has just pulled the registry
// would otherwise take every instance as heard at that moment.

// QuietAfter is how long an instance may go unheard before its owner lists
// it as quiet: one and a half beat intervals, so an instance beating on
// time is never listed, or its beat timeout if that is shorter.
func QuietAfter(in *Instance) time.Duration { return min(in.BeatInterval*3/2, in.BeatTimeout) }

// setInst stores in as e's instance, with what QuietIn reads of it kept
// in the entry itself: QuietAfter in milliseconds, rounded up (so an
// instance is listed at most a millisecond later than QuietAfter says,
// never earlier), at least 1; 0 for a deleted or persistent instance,
// which is never listed.
func (e *entry) setInst(in *Instance) {
	e.inst = in
	e.quietMs = 0
	if in.Deleted || !in.Ephemeral {
		return
	}
	ms := (QuietAfter(in) + time.Millisecond - 1) / time.Millisecond
	e.quietMs = uint32(min(max(ms, 1), math.MaxUint32))
}

// MinTakeoverGrace is the least time a new owner leaves an instance after
// a takeover with a report: enough for beats routed to the former owner to
// find the new one.
const MinTakeoverGrace = time.Second

// Quiet is one instance an owner has not heard for Age, by its record ID
// (the instance ID of SummaryEntry).
type Quiet struct {
	ID  uint64
	Age time.Duration
}

// MaxQuietPerPartition bounds one partition's quiet list in a report; a
// partition with more quiet instances is left out of the report, and its
// next owner gives them fresh timeouts.
const MaxQuietPerPartition = 20000

// QuietIn returns the live ephemeral instances of partition p that have
// not been heard for QuietAfter, sorted by ID, and false when there are
// more than MaxQuietPerPartition. An instance whose last-beat time is a
// takeover's lower bound (it was not listed in the report) counts as
// quiet only once this node, able to hear it since the takeover, has not
// for QuietAfter; its age is then counted from that lower bound.
func (s *Store) QuietIn(p int) ([]Quiet, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := stampOf(s.cfg.Now())
	taken := s.takenAt[p]
	var out []Quiet
	for _, svc := range s.byPart[p] {
		for _, e := range svc.entries {
			// Read from the entry alone: following e.inst for every
			// instance of every owned partition, each HeardInterval, was
			// most of what a report cost (BenchmarkQuietIn100k).
			if e.quietMs == 0 {
				continue
			}
			since := e.lastBeat
			if e.inferred {
				since = max(since, taken)
			}
			if int64(now-since) > int64(e.quietMs)*int64(time.Millisecond) {
				if len(out) == MaxQuietPerPartition {
					return nil, false
				}
				out = append(out, Quiet{ID: e.id, Age: time.Duration(now - e.lastBeat)})
			}
		}
	}
	slices.SortFunc(out, func(a, b Quiet) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return out, true
}

// Hint is what a partition's former owner last reported of it: the quiet
// instances, sorted by ID, as of At (this node's clock, when the report
// arrived), their ages counting from At. Until, when after At, is how
// long the report is known to have held since: its sender re-sends an
// unchanged report at least that often and a changed one at once, so
// the instances it does not list were heard within QuietAfter of Until,
// not only of At (a copy received a while ago, unchanged since, would
// otherwise make them look older than they are).
type Hint struct {
	At    time.Time
	Until time.Time
	Quiet []Quiet
}

// heldAt returns the latest time the report is known to have held.
func (h *Hint) heldAt() time.Time {
	if h.Until.After(h.At) {
		return h.Until
	}
	return h.At
}

// age returns how long the report says instance id had been quiet.
func (h *Hint) age(id uint64) (time.Duration, bool) {
	i, ok := slices.BinarySearchFunc(h.Quiet, id, func(q Quiet, id uint64) int {
		switch {
		case q.ID < id:
			return -1
		case q.ID > id:
			return 1
		}
		return 0
	})
	if !ok {
		return 0, false
	}
	return h.Quiet[i].Age, true
}

// Takeover counts what TakeOver did: the services it covered, and their
// live ephemeral instances that the report listed as quiet, that it did
// not list, and that had no report (fresh timeouts).
type Takeover struct {
	Services, Quiet, Heard, Fresh int
}

// TakeOver re-arms the expiry of every live ephemeral instance in the
// partitions this node has just taken over, from hint's report of each
// (nil: none).
func (s *Store) TakeOver(partitions []int, hint func(p int) *Hint) Takeover {
	var t Takeover
	for _, p := range partitions {
		var h *Hint
		if hint != nil {
			h = hint(p)
		}
		s.mu.Lock()
		now := s.cfg.Now()
		s.takenAt[p] = stampOf(now)
		for _, svc := range s.byPart[p] {
			s.takeOverLocked(svc, h, now, &t)
			t.Services++
		}
		s.mu.Unlock()
	}
	return t
}

// Refresh gives every live ephemeral instance of service k a full fresh
// timeout from now: a takeover without a report.
func (s *Store) Refresh(k Key) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.services.Load(k); ok {
		s.takeOverLocked(v.(*service), nil, s.cfg.Now(), &Takeover{})
	}
}

// takeOverLocked re-arms svc's instances at a takeover at now.
func (s *Store) takeOverLocked(svc *service, h *Hint, now time.Time, t *Takeover) {
	for _, e := range svc.entries {
		if e.inst.Deleted || !e.inst.Ephemeral {
			continue
		}
		from, floor, inferred := stampOf(now), stamp(0), false
		t.Fresh++
		if h != nil {
			t.Fresh--
			if age, ok := h.age(e.id); ok {
				t.Quiet++
				grace := max(min(e.inst.BeatInterval, e.inst.BeatTimeout), MinTakeoverGrace)
				from, floor = stampOf(h.At.Add(-age)), stampOf(now.Add(grace))
			} else {
				t.Heard++
				grace := max(e.inst.BeatTimeout, MinTakeoverGrace)
				from, floor = stampOf(h.heldAt().Add(-QuietAfter(e.inst))), stampOf(now.Add(grace))
				inferred = from > e.heard
			}
			// Direct evidence: a registration or beat this node handled.
			// (A record's arrival, which lastBeat also counts, is not.)
			from = min(max(from, e.heard), stampOf(now))
		}
		e.lastBeat, e.floor, e.inferred = from, floor, inferred
		e.queued = 0 // the deadline may move earlier: schedule afresh
		s.scheduleLocked(svc, e)
	}
}
