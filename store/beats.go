package store

import "time"

// LastBeats returns, for every live instance of service k, when this node
// last heard of it: the time its expiry deadlines count from (a client's
// beat or registration here, a record merged from a peer, or a takeover's
// fresh timeout). Only the service's owner hears its clients' beats, so
// only there is this the time of the last beat. Persistent instances are
// left out: they need no beats.
func (s *Store) LastBeats(k Key) map[InstanceKey]time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.services.Load(k)
	if !ok {
		return map[InstanceKey]time.Time{}
	}
	svc := v.(*service)
	out := make(map[InstanceKey]time.Time, len(svc.entries))
	for ik, e := range svc.entries {
		if e.inst.Deleted || !e.inst.Ephemeral {
			continue
		}
		out[ik] = e.lastBeat.time()
	}
	return out
}

// Namespaces returns the namespaces that hold at least one service, with
// how many services each holds.
func (s *Store) Namespaces() map[string]int {
	out := map[string]int{}
	for _, k := range s.AllServices() {
		out[k.Namespace]++
	}
	return out
}
