package store

import (
	"fmt"
	"time"
)

// Register stores in as a new version of its instance in service k,
// replacing any earlier registration. Zero heartbeat timings and cluster
// take the defaults. It returns the stored instance.
func (s *Store) Register(k Key, in Instance) (Instance, error) {
	return s.RegisterWithin(k, in, Limits{})
}

// Update applies fn to a copy of the live instance ik of service k and
// stores the result as a new version. fn must not change the instance key.
func (s *Store) Update(k Key, ik InstanceKey, fn func(*Instance)) (Instance, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, e := s.lookupLocked(k, ik)
	if e == nil || e.inst.Deleted {
		return Instance{}, fmt.Errorf("store: update %s:%d in %s: %w", ik.IP, ik.Port, k, ErrNotFound)
	}
	in := e.inst.clone()
	fn(&in)
	in.InstanceKey = ik
	in = in.withDefaults()
	in.Deleted, in.Expired = false, false
	in.Version = s.clock.next()
	if err := s.applyLocked(k, &in, true); err != nil {
		return Instance{}, fmt.Errorf("store: update %s: %w", in.ID(k), err)
	}
	return in, nil
}

// Deregister removes instance ik of service k, leaving a tombstone, and
// returns the tombstone. It writes the tombstone even when it holds no
// live instance (returning ErrNotFound with it): the registration may be
// on its way from a peer, and the newer tombstone makes sure it stays
// deleted when it arrives.
func (s *Store) Deregister(k Key, ik InstanceKey) (Instance, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, e := s.lookupLocked(k, ik)
	live := e != nil && !e.inst.Deleted
	base := &Instance{InstanceKey: ik}
	if e != nil {
		base = e.inst
	}
	t := tombstone(base, s.clock.next())
	t.Expired = false
	t = t.withDefaults()
	if err := s.applyLocked(k, &t, false); err != nil {
		return Instance{}, fmt.Errorf("store: deregister %s: %w", t.ID(k), err)
	}
	if !live {
		return t, fmt.Errorf("store: deregister %s:%d in %s: %w", ik.IP, ik.Port, k, ErrNotFound)
	}
	return t, nil
}

// BeatResult says what a beat did.
type BeatResult struct {
	// Instance is the instance after the beat.
	Instance Instance
	// Changed is true when the beat wrote a new version (it made an
	// unhealthy instance healthy again); such a write must be replicated.
	Changed bool
}

// Beat records a heartbeat for the live instance ik of service k. A beat
// on an unhealthy instance makes it healthy again with a new version.
func (s *Store) Beat(k Key, ik InstanceKey) (BeatResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.beatLocked(k, ik)
}

// beatLocked is Beat with s.mu held.
func (s *Store) beatLocked(k Key, ik InstanceKey) (BeatResult, error) {
	svc, e := s.lookupLocked(k, ik)
	if e == nil || e.inst.Deleted {
		return BeatResult{}, fmt.Errorf("store: beat %s:%d in %s: %w", ik.IP, ik.Port, k, ErrNotFound)
	}
	e.lastBeat = stampOf(s.cfg.Now())
	e.heard = e.lastBeat
	e.floor, e.inferred = 0, false
	if !e.inst.Ephemeral {
		return BeatResult{Instance: *e.inst}, nil // persistent: never expires
	}
	if e.inst.Healthy {
		s.scheduleLocked(svc, e)
		return BeatResult{Instance: *e.inst}, nil
	}
	in := e.inst.clone()
	in.Healthy, in.Expired = true, false
	in.Version = s.clock.next()
	if err := s.applyLocked(k, &in, true); err != nil {
		return BeatResult{}, fmt.Errorf("store: beat %s: %w", in.ID(k), err)
	}
	return BeatResult{Instance: in, Changed: true}, nil
}

// Merge applies an instance record from a peer if its version is newer
// than the one held, and reports whether it was applied. A record that is
// not newer is a normal outcome, not an error.
func (s *Store) Merge(k Key, in Instance) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.applyLocked(k, &in, true) == nil
}

// MergeGuarded applies a peer's instance record like Merge, with one
// exception: when guard is set and the record is an expiry decision about
// an instance a client registered or beat here within its beat timeout
// (direct evidence that it lives), it refuses the record and re-asserts its
// own copy with a newer version, which it returns for replication. So a
// tombstone written by expiry on the far side of a healed partition cannot
// delete an instance that is still beating on this side. Replicated writes
// do not count as evidence: only the node that heard the client does.
// Likewise an unhealthy-by-expiry record never revives a deleted
// instance: the tombstone is re-asserted instead.
func (s *Store) MergeGuarded(k Key, in Instance, guard bool) (applied bool, reassert *Instance) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if applied, re, done := s.mergeBoundLocked(k, &in); done {
		return applied, re
	}
	if guard && in.Expired && !closedByHolder(&in) {
		if _, e := s.lookupLocked(k, in.InstanceKey); e != nil && !e.inst.Deleted && e.inst.Healthy &&
			e.inst.Version.Less(in.Version) && e.heard != 0 && s.cfg.Now().Sub(e.heard.time()) < e.inst.BeatTimeout {
			s.clock.observe(in.Version)
			re := e.inst.clone()
			re.Version = s.clock.next()
			if s.applyLocked(k, &re, false) == nil {
				// The peers (the owner among them) count the timeout from
				// when the client was heard here, not from the arrival.
				wire := re.clone()
				wire.Heard = int64(e.heard)
				return false, &wire
			}
		}
		// An expiry that would mark unhealthy an instance already deleted
		// here, by its client or by this side's expiry (the far side of a
		// partition timed it out later than this side did, or after a
		// deregistration it had not heard of), must not bring it back:
		// keep the tombstone and re-assert it with a newer version.
		if _, e := s.lookupLocked(k, in.InstanceKey); e != nil && e.inst.Deleted && !in.Deleted &&
			e.inst.Version.Less(in.Version) && !s.reapedLocked(e.inst.Version) {
			s.clock.observe(in.Version)
			re := e.inst.clone()
			re.Version = s.clock.next()
			if s.applyLocked(k, &re, false) == nil {
				return false, &re
			}
		}
	}
	return s.applyLocked(k, &in, true) == nil, nil
}

// tombstone returns the deletion record of in at version v.
func tombstone(in *Instance, v Version) Instance {
	t := *in
	t.Metadata = nil
	t.Healthy = false
	t.Deleted = true
	t.Version = v
	return t
}

// applyLocked stores in if it is newer than what service k holds for its
// key. touch resets the instance's last-beat time, as a registration or a
// beat does; expiry transitions keep it.
func (s *Store) applyLocked(k Key, in *Instance, touch bool) error {
	if in.Deleted && s.reapedLocked(in.Version) {
		return errNotFresh
	}
	svc := s.serviceLocked(k)
	e := svc.entries[in.InstanceKey]
	if e != nil && !e.inst.Version.Less(in.Version) {
		return errNotFresh
	}
	s.clock.observe(in.Version)
	now := s.cfg.Now()
	// What a touch counts the timeouts from: now, or a re-assertion's
	// Heard, which a re-asserting node sends only while it is less than
	// a beat timeout old (kept within that, whatever a peer sends; the
	// bound saturates, and a non-positive timeout means now).
	heard := now
	if in.Heard != 0 {
		n := now.UnixNano()
		heard = time.Unix(0, min(max(in.Heard, addNanos(n, -max(in.BeatTimeout, 0))), n))
	}
	in.Heard = 0
	wasLive := e != nil && !e.inst.Deleted
	var prev *Instance
	if e != nil {
		prev = e.inst
		s.flipLocked(svc.partition, e.id, e.hash)
	}
	h := instanceHash(k, in)
	if e == nil {
		e = &entry{lastBeat: stampOf(heard), id: instanceID(k, in.InstanceKey)}
		svc.entries[in.InstanceKey] = e
	}
	s.flipLocked(svc.partition, e.id, h)
	e.hash = h
	// Share the metadata with every other instance that has the same.
	// The caller's own map is never kept (so callers need not copy it).
	sm := s.metas.intern(in.Metadata)
	if sm != nil {
		in.Metadata = sm.m
	} else {
		in.Metadata = map[string]string{}
	}
	s.metas.release(e.meta)
	e.meta = sm
	e.setInst(in)
	s.bindLocked(svc, e, prev, in)
	if touch {
		e.lastBeat = max(e.lastBeat, stampOf(heard))
		e.floor, e.inferred = 0, false
	}
	if prev != nil && !prev.Deleted && !prev.Ephemeral {
		svc.persistent--
	}
	if !in.Deleted && !in.Ephemeral {
		svc.persistent++
	}
	switch {
	case in.Deleted && wasLive:
		svc.live--
		s.live.Add(-1)
		s.nsLiveAddLocked(k.Namespace, -1)
	case !in.Deleted && !wasLive:
		svc.live++
		s.live.Add(1)
		s.nsLiveAddLocked(k.Namespace, 1)
	}
	if in.Deleted {
		e.buried = stampOf(now)
		s.buryLocked(k, in.InstanceKey, false, now)
	} else {
		e.buried = 0
		if in.Ephemeral {
			s.scheduleLocked(svc, e)
		}
	}
	s.publishLocked(svc, in.InstanceKey, now)
	s.journalInstanceLocked(k, prev, in)
	return nil
}
