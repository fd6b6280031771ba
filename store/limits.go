package store

import (
	"errors"
	"fmt"
)

// Limits bound how many live instances a registration may bring a
// service or a namespace to. Zero means no limit.
type Limits struct {
	PerService   int
	PerNamespace int
}

var (
	// ErrServiceFull refuses a registration that would take a service
	// past Limits.PerService live instances.
	ErrServiceFull = errors.New("store: service instance limit reached")
	// ErrNamespaceFull refuses a registration that would take a namespace
	// past Limits.PerNamespace live instances.
	ErrNamespaceFull = errors.New("store: namespace instance limit reached")
)

// RegisterWithin is Register that refuses a new instance (one not live in
// service k) when the service or the namespace already holds as many live
// instances as lim allows. Re-registering a live instance always
// succeeds. The check and the write are one atomic step.
func (s *Store) RegisterWithin(k Key, in Instance, lim Limits) (Instance, error) {
	in = in.withDefaults() // the store keeps a copy of the metadata, not the caller's map
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.registerWithinLocked(k, in, lim)
}

// registerWithinLocked is RegisterWithin on an instance already
// and defaulted, under s.mu.
func (s *Store) registerWithinLocked(k Key, in Instance, lim Limits) (Instance, error) {
	in.Deleted, in.Expired = false, false
	svc, e := s.lookupLocked(k, in.InstanceKey)
	if e == nil || e.inst.Deleted {
		live := 0
		if svc != nil {
			live = svc.live
		}
		if lim.PerService > 0 && live >= lim.PerService {
			return Instance{}, fmt.Errorf("%w: service %s has %d live instances, the limit is %d", ErrServiceFull, k, live, lim.PerService)
		}
		if n := s.nsLive[k.Namespace]; lim.PerNamespace > 0 && n >= lim.PerNamespace {
			return Instance{}, fmt.Errorf("%w: namespace %s has %d live instances, the limit is %d", ErrNamespaceFull, k.Namespace, n, lim.PerNamespace)
		}
	}
	in.Version = s.clock.next()
	if err := s.applyLocked(k, &in, true); err != nil {
		return Instance{}, fmt.Errorf("store: register %s: %w", in.ID(k), err)
	}
	_, e = s.lookupLocked(k, in.InstanceKey)
	e.heard = stampOf(s.cfg.Now())
	return in, nil
}

// NamespaceLen returns the number of live instances in namespace ns.
func (s *Store) NamespaceLen(ns string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nsLive[ns]
}

// nsLiveAddLocked moves the live count of namespace ns by d.
func (s *Store) nsLiveAddLocked(ns string, d int) {
	if s.nsLive[ns] += d; s.nsLive[ns] <= 0 {
		delete(s.nsLive, ns)
	}
}
