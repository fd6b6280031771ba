package store

// reapedLocked reports whether a tombstone of version v is older than the
// tombstone TTL: every node has dropped or will drop it, so a copy arriving
// from a peer is ignored rather than kept for another TTL (which would let
// anti-entropy pass reaped tombstones back and forth for ever).
func (s *Store) reapedLocked(v Version) bool {
	return v.Clock <= s.cfg.Now().Add(-s.cfg.TombstoneTTL).UnixNano()
}

// Reap drops tombstones older than the tombstone TTL, and services left
// with nothing, and returns how many records it dropped.
func (s *Store) Reap() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	cutoff := s.cfg.Now().Add(-s.cfg.TombstoneTTL)
	n := 0
	s.services.Range(func(_, v any) bool {
		svc := v.(*service)
		for ik, e := range svc.entries {
			if e.inst.Deleted && !e.buried.After(cutoff) {
				s.digests[svc.partition] ^= instanceHash(svc.key, e.inst)
				delete(svc.entries, ik)
				n++
			}
		}
		if svc.hasInfo && svc.info.Deleted && !svc.infoBuried.After(cutoff) {
			s.digests[svc.partition] ^= serviceHash(svc.key, &svc.info)
			svc.hasInfo = false
			svc.info = ServiceInfo{}
			n++
		}
		if len(svc.entries) == 0 && !svc.hasInfo {
			s.dropLocked(svc)
			if snap := svc.snap.Load(); snap != nil {
				close(snap.changed)
				svc.snap.Store(nil)
			}
		}
		return true
	})
	return n
}
