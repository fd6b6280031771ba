package store

import "time"

// reapedLocked reports whether a tombstone of version v is older than the
// tombstone TTL: every node has dropped or will drop it, so a copy arriving
// from a peer is ignored rather than kept for another TTL (which would let
// anti-entropy pass reaped tombstones back and forth for ever).
func (s *Store) reapedLocked(v Version) bool {
	return v.Clock <= addNanos(s.cfg.Now().UnixNano(), -s.cfg.TombstoneTTL)
}

// grave is a tombstone waiting out the TTL. Tombstones are buried in time
// order, so the graves form a FIFO queue and reaping costs what it drops,
// not a scan of the registry under the lock.
type grave struct {
	at   time.Time // when the tombstone was applied here
	key  Key
	ik   InstanceKey
	info bool // the service record, not an instance
}

// buryLocked queues the tombstone just applied at now.
func (s *Store) buryLocked(k Key, ik InstanceKey, info bool, now time.Time) {
	s.graves = append(s.graves, grave{at: now, key: k, ik: ik, info: info})
}

// maxReap bounds the tombstones one lock hold drops, so reaping a mass
// deletion does not stall writers and the sweeper.
const maxReap = 5000

// Reap drops tombstones older than the tombstone TTL, and services left
// with nothing, and returns how many records it dropped.
func (s *Store) Reap() int {
	total := 0
	for {
		n, more := s.reapSome(maxReap)
		total += n
		if !more {
			return total
		}
	}
}

// reapSome looks at up to max due graves and reports whether more are due.
func (s *Store) reapSome(max int) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cutoff := s.cfg.Now().Add(-s.cfg.TombstoneTTL)
	n, seen := 0, 0
	for len(s.graves) > 0 && !s.graves[0].at.After(cutoff) {
		if seen == max {
			return n, true
		}
		g := s.graves[0]
		s.graves[0] = grave{}
		s.graves = s.graves[1:]
		seen++
		v, ok := s.services.Load(g.key)
		if !ok {
			continue
		}
		svc := v.(*service)
		switch {
		case g.info:
			// Still the same tombstone: not re-created or re-deleted since.
			if svc.hasInfo && svc.info.Deleted && svc.infoBuried.Equal(g.at) {
				s.flipLocked(svc.partition, serviceID(svc.key), serviceHash(svc.key, &svc.info))
				svc.hasInfo = false
				svc.info = ServiceInfo{}
				n++
			}
		default:
			if e := svc.entries[g.ik]; e != nil && e.inst.Deleted && e.buried == stampOf(g.at) {
				s.flipLocked(svc.partition, e.id, e.hash)
				s.metas.release(e.meta)
				delete(svc.entries, g.ik)
				n++
			}
		}
		if len(svc.entries) == 0 && !svc.hasInfo {
			s.dropLocked(svc)
			s.retireLocked(svc)
		}
	}
	if cap(s.graves) > 1024 && len(s.graves) < cap(s.graves)/4 {
		s.graves = append([]grave(nil), s.graves...) // give back a drained backing array
	}
	return n, false
}
