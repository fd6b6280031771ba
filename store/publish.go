package store

import (
	"slices"
	"time"
)

// Publication. A write does not rebuild its service's snapshot: it notes
// the changed instance key, bumps the index, marks the service stale and
// wakes watchers (the old snapshot's Changed channel closes at the first
// change after it was built). The next reader rebuilds the snapshot once,
// merging every pending change into the previous sorted list. Under a
// stream of writes to a large service that turns a copy of the whole
// instance list per write into one per read, and a sweep's or a delta
// batch's many changes into one rebuild.

// minPendingMerge is the fewest pending changes a service keeps before
// a write merges them into its snapshot with no reader asking.
const minPendingMerge = 64

// publishLocked records a change to the instance at changed (or to the
// service record) of svc at now.
func (s *Store) publishLocked(svc *service, changed InstanceKey, now time.Time) {
	svc.pending = append(svc.pending, changed)
	svc.pendingIndex = s.index.Add(1)
	svc.pendingAt = now
	if !svc.stale.Swap(true) {
		if old := svc.snap.Load(); old != nil {
			close(old.changed)
		}
	}
	s.wakeAbsentLocked(svc.key)
	switch {
	case len(svc.entries) == 0 && !svc.hasInfo:
		s.dropLocked(svc)
	case len(svc.pending) >= max(minPendingMerge, 2*len(svc.entries)):
		// Nobody read the service for as many changes as it has records:
		// merge them now, so that a service written often and never read
		// keeps its changes in about its own size, not one key per write
		// forever. A merge per that many writes costs O(log n) a write.
		s.materializeLocked(svc)
	}
	s.noteChangedLocked()
}

// viewOf returns svc's current snapshot, rebuilding it if stale; nil if
// svc never had one.
func (s *Store) viewOf(svc *service) *Snapshot {
	if svc.stale.Load() {
		s.mu.Lock()
		s.materializeLocked(svc)
		s.mu.Unlock()
	}
	return svc.snap.Load()
}

// materializeLocked rebuilds svc's snapshot from the previous one and the
// pending changes, if it is stale.
func (s *Store) materializeLocked(svc *service) {
	if !svc.stale.Load() {
		return
	}
	var prev []*Instance
	if old := svc.snap.Load(); old != nil {
		prev = old.Instances
	}
	snap := &Snapshot{
		Key:       svc.key,
		Tracked:   true,
		Explicit:  svc.hasInfo && !svc.info.Deleted,
		Instances: mergeChanges(prev, svc.pending, svc.entries),
		Index:     svc.pendingIndex,
		Modified:  svc.pendingAt,
		changed:   make(chan struct{}),
		stats:     &s.cache,
	}
	if snap.Explicit {
		snap.Info = svc.info
	}
	snap.Exists = snap.Explicit || len(snap.Instances) > 0
	svc.pending = svc.pending[:0]
	svc.snap.Store(snap)
	svc.stale.Store(false)
}

// retireLocked ends svc's snapshots when the service is dropped: watchers
// of its last snapshot wake and find it gone.
func (s *Store) retireLocked(svc *service) {
	if old := svc.snap.Load(); old != nil && !svc.stale.Load() {
		close(old.changed)
	}
	svc.snap.Store(nil)
	svc.stale.Store(false)
	svc.pending = nil
}

// mergeChanges returns the sorted live instances: prev (sorted) with the
// instances at the changed keys replaced, inserted or removed as entries
// now say. changed is sorted in place.
func mergeChanges(prev []*Instance, changed []InstanceKey, entries map[InstanceKey]*entry) []*Instance {
	slices.SortFunc(changed, compareInstanceKeys)
	changed = slices.Compact(changed)
	out := make([]*Instance, 0, len(prev)+len(changed))
	i, j := 0, 0
	for i < len(prev) || j < len(changed) {
		c := -1
		switch {
		case i == len(prev):
			c = 1
		case j < len(changed):
			c = compareInstanceKeys(prev[i].InstanceKey, changed[j])
		}
		if c < 0 {
			out = append(out, prev[i])
			i++
			continue
		}
		if e := entries[changed[j]]; e != nil && !e.inst.Deleted {
			out = append(out, e.inst)
		}
		if c == 0 {
			i++
		}
		j++
	}
	return out
}
