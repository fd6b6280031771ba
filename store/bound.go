package store

import "time"

// Connection-bound instances (Instance.Holder, Instance.Conn). The node
// holding a client's connection renews all of that connection's
// instances with one lease per connection: RenewBound counts them as
// heard now, as a beat would, for every instance bound to the
// connection. Their expiry is otherwise the ordinary one (Sweep), with
// the lease's timeouts. When the holding node is gone, ExpireHolder
// brings the deadline of every instance it held forward to a short
// grace.
//
// A record's binding makes expiry a compare-and-delete: an expiry
// decision names the connection it judged, and MergeGuarded lets it
// delete only a record still bound to that connection, while a
// registration through another connection supersedes an expiry of the
// old binding even when the expiry carries the newer version (it is
// re-versioned after it). So a client that re-registers through another
// node while its old holder's records expire keeps its instance,
// whatever order the writes arrive in.

// boundSet is the live entries bound to one connection, with their
// services.
type boundSet map[*entry]*service

// bindLocked moves e in the binding index from prev's binding to in's.
// Only live records are indexed.
func (s *Store) bindLocked(svc *service, e *entry, prev, in *Instance) {
	if prev != nil && !prev.Deleted && prev.Conn != "" {
		if in.Holder == prev.Holder && in.Conn == prev.Conn && !in.Deleted {
			return
		}
		if conns := s.bound[prev.Holder]; conns != nil {
			if set := conns[prev.Conn]; set != nil {
				delete(set, e)
				if len(set) == 0 {
					delete(conns, prev.Conn)
				}
			}
			if len(conns) == 0 {
				delete(s.bound, prev.Holder)
			}
		}
	}
	if in.Deleted || in.Conn == "" {
		return
	}
	if s.bound == nil {
		s.bound = map[string]map[string]boundSet{}
	}
	conns := s.bound[in.Holder]
	if conns == nil {
		conns = map[string]boundSet{}
		s.bound[in.Holder] = conns
	}
	set := conns[in.Conn]
	if set == nil {
		set = boundSet{}
		conns[in.Conn] = set
	}
	set[e] = svc
}

// RenewBound renews the lease of connections conns held by holder: every
// live instance bound to one of them counts as heard now. An instance
// that expiry marked unhealthy is made healthy again with a new version;
// those records are returned, to be replicated. renewed counts the
// instances. It releases the lock every maxRenewHold instances or so, so
// a large renewal does not hold up writes.
func (s *Store) RenewBound(holder string, conns []string) (renewed int, revived []Record) {
	for len(conns) > 0 {
		var n int
		n, revived, conns = s.renewSome(holder, conns, revived)
		renewed += n
	}
	return renewed, revived
}

// maxRenewHold is about how many instances one lock hold of RenewBound
// renews (whole connections: it may exceed it by one connection's).
const maxRenewHold = 2048

// renewSome renews the first connections of conns, up to about
// maxRenewHold instances, appends the revived records to revived, and
// returns the connections left.
func (s *Store) renewSome(holder string, conns []string, revived []Record) (int, []Record, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := stampOf(s.cfg.Now())
	renewed := 0
	i := 0
	for ; i < len(conns) && renewed < maxRenewHold; i++ {
		for e, svc := range s.bound[holder][conns[i]] {
			renewed++
			e.lastBeat, e.heard = now, now
			e.floor, e.inferred = 0, false
			if e.inst.Healthy || !e.inst.Ephemeral {
				s.scheduleLocked(svc, e)
				continue
			}
			in := e.inst.clone()
			in.Healthy, in.Expired = true, false
			in.Version = s.clock.next()
			if s.applyLocked(svc.key, &in, true) == nil {
				revived = append(revived, Record{Key: svc.key, Instance: &in})
			}
		}
	}
	return renewed, revived, conns[i:]
}

// ExpireHolder brings the expiry of every live instance bound to a
// connection of holder (a node that is gone) forward to grace from now,
// unless it is due sooner already, and forgets that its clients were
// heard here (the holder's renewals are void now). It returns how many
// instances it moved. An instance registered again meanwhile through
// another connection is bound to that one and untouched.
func (s *Store) ExpireHolder(holder string, grace time.Duration) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	moved := 0
	for _, set := range s.bound[holder] {
		for e, svc := range set {
			if !e.inst.Ephemeral {
				continue
			}
			due := stamp(addNanos(now.UnixNano(), grace-e.inst.DeleteTimeout))
			if due < e.lastBeat {
				e.lastBeat = due
			}
			e.heard, e.floor, e.inferred = 0, 0, false
			e.queued = 0 // the deadline moves earlier: schedule afresh
			s.scheduleLocked(svc, e)
			moved++
		}
	}
	return moved
}

// CloseConn deletes every live instance bound to connection conn of
// holder: the holder's decision, at version v, that the connection
// closed. With the zero version it stamps one now (the holder does; the
// other nodes apply the version it sent). Each instance gets a tombstone
// marked Expired, a decision about its binding, so MergeGuarded lets it
// delete only a record still bound to conn; the tombstone's version is
// v, or for a record re-versioned after v by another node the clock tick
// after the record's, under holder's name. Every node that applies the
// same close to the same record so writes the same tombstone, and the
// replicas agree without repairs. It returns the version and how many
// instances it deleted.
func (s *Store) CloseConn(holder, conn string, v Version) (Version, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v.IsZero() {
		v = s.clock.next()
	} else {
		s.clock.observe(v)
	}
	set := s.bound[holder][conn]
	if len(set) == 0 {
		return v, 0
	}
	type bound struct {
		svc *service
		e   *entry
	}
	list := make([]bound, 0, len(set)) // applyLocked edits the set
	for e, svc := range set {
		list = append(list, bound{svc, e})
	}
	deleted := 0
	for _, b := range list {
		tv := v
		if !b.e.inst.Version.Less(v) {
			tv = Version{Clock: b.e.inst.Version.Clock + 1, Node: holder}
		}
		t := tombstone(b.e.inst, tv)
		t.Expired = true
		if s.applyLocked(b.svc.key, &t, false) == nil {
			deleted++
		}
	}
	return v, deleted
}

// closedByHolder reports whether in is the tombstone its holder wrote
// when the connection it is bound to closed (CloseConn, or the holder's
// own expiry): the holder's word on its own connection, which no
// evidence elsewhere outweighs.
func closedByHolder(in *Instance) bool {
	return in.Deleted && in.Expired && in.Conn != "" && in.Version.Node == in.Holder
}

// BoundTo returns how many connections of holder hold live instances
// here, and how many instances they hold.
func (s *Store) BoundTo(holder string) (conns, instances int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, set := range s.bound[holder] {
		conns++
		instances += len(set)
	}
	return conns, instances
}

// BoundConns returns the ids of the connections of holder that hold live
// instances here.
func (s *Store) BoundConns(holder string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.bound[holder]))
	for c := range s.bound[holder] {
		out = append(out, c)
	}
	return out
}

// BoundConn returns how many live instances are bound to connection conn
// of holder here.
func (s *Store) BoundConn(holder, conn string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.bound[holder][conn])
}

// Current returns the record held for instance ik of service k, live or
// a tombstone.
func (s *Store) Current(k Key, ik InstanceKey) (Instance, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, e := s.lookupLocked(k, ik)
	if e == nil {
		return Instance{}, false
	}
	return e.inst.clone(), true
}

// sameBinding reports whether a and b are bound to the same connection
// (or both to none).
func sameBinding(a, b *Instance) bool { return a.Holder == b.Holder && a.Conn == b.Conn }

// mergeBoundLocked applies the binding rules of MergeGuarded to a peer's
// record in; done is false when they do not apply.
//
//   - An expiry decision about a connection-bound record (in.Expired)
//     never deletes or degrades a live record bound elsewhere (another
//     connection, or none): it is refused and the live record re-asserted
//     with a newer version.
//   - A live connection-bound record is applied over an expiry tombstone
//     of another binding even when the tombstone is newer: it is
//     re-versioned after it (and returned, to be replicated), since the
//     client registered again through a connection the expiry did not
//     judge.
func (s *Store) mergeBoundLocked(k Key, in *Instance) (applied bool, reassert *Instance, done bool) {
	_, e := s.lookupLocked(k, in.InstanceKey)
	if e == nil || sameBinding(e.inst, in) {
		return false, nil, false
	}
	switch {
	case in.Expired && in.Conn != "" && !e.inst.Deleted && e.inst.Version.Less(in.Version):
		s.clock.observe(in.Version)
		re := e.inst.clone()
		re.Version = s.clock.next()
		if s.applyLocked(k, &re, false) != nil {
			return false, nil, false
		}
		return false, &re, true
	case !in.Deleted && in.Conn != "" && e.inst.Deleted && e.inst.Expired && !e.inst.Version.Less(in.Version):
		s.clock.observe(e.inst.Version)
		in.Version = s.clock.next()
		if s.applyLocked(k, in, true) != nil {
			return false, nil, false
		}
		out := in.clone()
		return true, &out, true
	}
	return false, nil, false
}
