package store

// Journal receives every record the store applies, in apply order, so a
// durable log (package durable) can write what must survive a restart.
// Its methods are called under the store's lock: they must only queue
// the record and return, never block on I/O. The records passed are
// immutable (the store replaces them on change) and may be kept.
type Journal interface {
	// Instance is told that prev (nil if the store held none) was
	// replaced by next.
	Instance(k Key, prev, next *Instance)
	// Service is told that info is now service k's record.
	Service(k Key, info *ServiceInfo)
}

// SetJournal attaches j (nil detaches). Records applied before it are not
// replayed: attach it after loading what the journal itself holds.
func (s *Store) SetJournal(j Journal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.journal = j
}

// Clock returns the last version clock the store issued or observed.
func (s *Store) Clock() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.clock.last
}

// ObserveClock moves the version clock past c, so a restarted node never
// issues a version older than one it issued before.
func (s *Store) ObserveClock(c int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock.observe(Version{Clock: c})
}

// journalInstanceLocked tells the journal, if any, of an applied instance.
func (s *Store) journalInstanceLocked(k Key, prev, next *Instance) {
	if s.journal != nil {
		s.journal.Instance(k, prev, next)
	}
}

// journalServiceLocked tells the journal, if any, of an applied service
// record.
func (s *Store) journalServiceLocked(k Key, info ServiceInfo) {
	if s.journal != nil {
		s.journal.Service(k, &info)
	}
}
