package store

import (
	"container/heap"
	"math"
	"time"
)

// Transition is an expiry decision made by Sweep.
type Transition struct {
	Key Key
	// Instance is the record written: unhealthy, or a tombstone.
	Instance Instance
	// Removed is true when the instance was deleted, false when it was
	// marked unhealthy.
	Removed bool
	// Deadline is when the transition was due; Sweep ran at or after it.
	Deadline time.Time
}

// deadline is one pending expiry check: 24 bytes, because there is one
// per instance. It points at the entry and its service; an entry that was
// since removed from its service is recognised and skipped.
type deadline struct {
	at  int64 // Unix nanoseconds
	svc *service
	e   *entry
}

// deadlines is a min-heap of expiry checks ordered by time.
type deadlines []deadline

func (d deadlines) Len() int           { return len(d) }
func (d deadlines) Less(i, j int) bool { return d[i].at < d[j].at }
func (d deadlines) Swap(i, j int)      { d[i], d[j] = d[j], d[i] }
func (d *deadlines) Push(x any)        { *d = append(*d, x.(deadline)) }
func (d *deadlines) Pop() any {
	old := *d
	x := old[len(old)-1]
	*d = old[:len(old)-1]
	return x
}

// never is the deadline of a transition that never comes: the last time
// Unix nanoseconds can hold, standing for any time at or past it. It is
// not put on the heap.
const never = math.MaxInt64

// deadlineAfter returns the Unix-nanosecond time d after from. It
// saturates, since a peer's record can carry any duration: a time past the
// range is never, and one before it is 1 (0 means "none" in entry.queued).
func deadlineAfter(from stamp, d time.Duration) int64 {
	return max(addNanos(int64(from), d), 1)
}

// nextLocked returns when e's next expiry transition is due and whether it
// removes the instance. The two deadlines count independently from the
// last beat, as in Nacos: a healthy instance turns unhealthy at its beat
// timeout, but if its delete timeout comes first (or at the same time) it
// is removed then without being reported unhealthy first. An unhealthy
// instance is removed at its delete timeout.
func nextLocked(e *entry) (at int64, remove bool) {
	del := deadlineAfter(e.lastBeat, e.inst.DeleteTimeout)
	if !e.inst.Healthy {
		return notBefore(del, e.floor), true
	}
	beat := deadlineAfter(e.lastBeat, e.inst.BeatTimeout)
	if del <= beat {
		return notBefore(del, e.floor), true
	}
	return notBefore(beat, e.floor), false
}

// notBefore returns deadline at held back to floor (a takeover's grace,
// see takeover.go); never stays never.
func notBefore(at int64, floor stamp) int64 {
	if at == never {
		return never
	}
	return max(at, int64(floor))
}

// scheduleLocked makes sure a heap item exists at or before e's deadline.
// Beats move the deadline later without touching the heap; the item is
// re-checked when it comes due. An instance whose deadline is never gets
// no item.
func (s *Store) scheduleLocked(svc *service, e *entry) {
	at, _ := nextLocked(e)
	if at == never || (e.queued != 0 && at >= e.queued) {
		return
	}
	e.queued = at
	heap.Push(&s.heap, deadline{at: at, svc: svc, e: e})
	if s.heap[0].at == at {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// Wake returns a channel that receives when the earliest deadline has
// moved earlier, so a sleeping sweeper should re-read NextDeadline.
func (s *Store) Wake() <-chan struct{} { return s.wake }

// NextDeadline returns the earliest pending expiry check.
func (s *Store) NextDeadline() (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.heap) == 0 {
		return time.Time{}, false
	}
	return time.Unix(0, s.heap[0].at), true
}

// maxSweep bounds the transitions one Sweep applies, so a mass expiry
// releases the lock between batches; NextDeadline stays due, so the
// sweeper calls again at once.
const maxSweep = 2000

// maxSweepPops bounds the heap items one Sweep looks at, transitions or
// not. Instances renewed together (a connection lease renews all of a
// connection's instances at once) come due together and are mostly put
// back for later: without a bound, one Sweep would re-schedule tens of
// thousands of them under the lock and hold up every write meanwhile.
const maxSweepPops = 4096

// Sweep applies the expiry transitions due by now (at most maxSweep, of
// at most maxSweepPops items looked at; the rest stay due): an
// ephemeral instance without a beat for its delete timeout is removed, and
// one without a beat for its beat timeout, if that is shorter, becomes
// unhealthy first (see nextLocked). owns reports whether this node is
// responsible for timing out a service; nil means every service. Services
// not owned are skipped; their owner times them out, and Refresh re-arms
// them if ownership comes here.
func (s *Store) Sweep(owns func(Key) bool) []Transition {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	var out []Transition
	for pops := 0; len(s.heap) > 0 && s.heap[0].at <= now.UnixNano() && len(out) < maxSweep && pops < maxSweepPops; pops++ {
		d := heap.Pop(&s.heap).(deadline)
		e := d.e
		if e.queued != d.at || d.svc.entries[e.inst.InstanceKey] != e {
			continue // superseded by an earlier item, or gone
		}
		e.queued = 0
		k := d.svc.key
		if e.inst.Deleted || !e.inst.Ephemeral || (owns != nil && !owns(k)) {
			continue
		}
		at, remove := nextLocked(e)
		if at > now.UnixNano() {
			s.scheduleLocked(d.svc, e)
			continue
		}
		var next Instance
		if remove {
			next = tombstone(e.inst, s.clock.next())
		} else {
			next = e.inst.clone()
			next.Healthy = false
			next.Version = s.clock.next()
		}
		next.Expired = true
		if err := s.applyLocked(k, &next, false); err != nil {
			continue
		}
		out = append(out, Transition{Key: k, Instance: next, Removed: next.Deleted, Deadline: time.Unix(0, at)})
	}
	return out
}

// StallForTesting holds the store's lock for d, as a store that cannot
// make progress would. Never call it outside tests.
func (s *Store) StallForTesting(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	time.Sleep(d)
}
