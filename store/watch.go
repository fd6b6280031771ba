package store

// Watching a service that does not exist. A blocking query on a service
// waits on its snapshot's Changed channel, which closes at the service's
// next change. A service that does not exist has no snapshot of its own,
// and waiting on the global change channel would wake every such watcher
// at every change anywhere. So Watch registers a channel per missing key
// that only that service's first change closes; the registration lives as
// long as its watchers, who release it when they stop waiting.

// absentWatch is the channel the watchers of one missing service wait on.
type absentWatch struct {
	ch chan struct{}
	n  int // watchers holding it
}

// Watch returns service k's snapshot for a watcher, and a release the
// watcher calls once it stops waiting on the snapshot's Changed channel.
// For an existing service it is Snapshot; for a missing one the channel
// closes only when that service appears.
func (s *Store) Watch(k Key) (*Snapshot, func()) {
	if v, ok := s.services.Load(k); ok {
		if snap := s.viewOf(v.(*service)); snap != nil {
			return snap, func() {}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.services.Load(k); ok {
		svc := v.(*service)
		s.materializeLocked(svc)
		if snap := svc.snap.Load(); snap != nil {
			return snap, func() {}
		}
	}
	w := s.absent[k]
	if w == nil {
		w = &absentWatch{ch: make(chan struct{})}
		s.absent[k] = w
	}
	w.n++
	snap := emptySnapshot(k, s.index.Load())
	snap.changed = w.ch
	return snap, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if w.n--; w.n == 0 && s.absent[k] == w {
			delete(s.absent, k)
		}
	}
}

// wakeAbsentLocked wakes the watchers of service k, which was missing
// until this change.
func (s *Store) wakeAbsentLocked(k Key) {
	if w, ok := s.absent[k]; ok {
		close(w.ch)
		delete(s.absent, k)
	}
}

// watchers returns how many missing services are watched, for tests.
func (s *Store) watchers() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.absent)
}
