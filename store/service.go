package store

import (
	"fmt"
	"maps"
	"time"
)

// CreateService creates service k with info. It fails with
// ErrServiceExists if the service was already created.
func (s *Store) CreateService(k Key, info ServiceInfo) (ServiceInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.services.Load(k); ok {
		if svc := v.(*service); svc.hasInfo && !svc.info.Deleted {
			return ServiceInfo{}, fmt.Errorf("store: create service %s: %w", k, ErrServiceExists)
		}
	}
	return s.putServiceLocked(k, info)
}

// UpdateService applies fn to a copy of service k's record and stores it
// as a new version. A service that exists only through its instances gets
// its first record this way.
func (s *Store) UpdateService(k Key, fn func(*ServiceInfo)) (ServiceInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.services.Load(k)
	if !ok {
		return ServiceInfo{}, fmt.Errorf("store: update service %s: %w", k, ErrServiceNotFound)
	}
	svc := v.(*service)
	if !(svc.hasInfo && !svc.info.Deleted) && svc.live == 0 {
		return ServiceInfo{}, fmt.Errorf("store: update service %s: %w", k, ErrServiceNotFound)
	}
	info := ServiceInfo{Metadata: map[string]string{}}
	if svc.hasInfo && !svc.info.Deleted {
		info = cloneInfo(svc.info)
	}
	fn(&info)
	return s.putServiceLocked(k, info)
}

// DeleteService removes service k's record, leaving a tombstone. It fails
// while the service has live instances.
func (s *Store) DeleteService(k Key) (ServiceInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.services.Load(k)
	if !ok {
		return ServiceInfo{}, fmt.Errorf("store: delete service %s: %w", k, ErrServiceNotFound)
	}
	svc := v.(*service)
	if svc.live > 0 {
		return ServiceInfo{}, fmt.Errorf("store: delete service %s: %w", k, ErrServiceHasInstances)
	}
	if !svc.hasInfo || svc.info.Deleted {
		return ServiceInfo{}, fmt.Errorf("store: delete service %s: %w", k, ErrServiceNotFound)
	}
	t := ServiceInfo{Version: s.clock.next(), Deleted: true}
	if err := s.mergeServiceLocked(k, t); err != nil {
		return ServiceInfo{}, fmt.Errorf("store: delete service %s: %w", k, err)
	}
	return t, nil
}

// MergeService applies a service record from a peer if its version is
// newer than the one held, and reports whether it was applied.
func (s *Store) MergeService(k Key, info ServiceInfo) bool {
	info = cloneInfo(info)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mergeServiceLocked(k, info) == nil
}

func (s *Store) putServiceLocked(k Key, info ServiceInfo) (ServiceInfo, error) {
	info = cloneInfo(info)
	info.Deleted = false
	info.Version = s.clock.next()
	if err := s.mergeServiceLocked(k, info); err != nil {
		return ServiceInfo{}, fmt.Errorf("store: put service %s: %w", k, err)
	}
	return info, nil
}

func (s *Store) mergeServiceLocked(k Key, info ServiceInfo) error {
	if info.Deleted && s.reapedLocked(info.Version) {
		return errNotFresh
	}
	svc := s.serviceLocked(k)
	if svc.hasInfo && !svc.info.Version.Less(info.Version) {
		return errNotFresh
	}
	s.clock.observe(info.Version)
	now := s.cfg.Now()
	if svc.hasInfo {
		s.flipLocked(svc.partition, serviceID(k), serviceHash(k, &svc.info))
	}
	s.flipLocked(svc.partition, serviceID(k), serviceHash(k, &info))
	svc.info = info
	svc.hasInfo = true
	svc.infoBuried = time.Time{}
	if info.Deleted {
		svc.infoBuried = now
		s.buryLocked(k, InstanceKey{}, true, now)
	}
	s.publishLocked(svc, InstanceKey{}, now)
	s.journalServiceLocked(k, info)
	return nil
}

func cloneInfo(info ServiceInfo) ServiceInfo {
	md := make(map[string]string, len(info.Metadata))
	for k, v := range info.Metadata {
		md[k] = v
	}
	info.Metadata = md
	if info.Clusters != nil {
		cs := make(map[string]ClusterInfo, len(info.Clusters))
		for name, c := range info.Clusters {
			c.Metadata = maps.Clone(c.Metadata)
			cs[name] = c
		}
		info.Clusters = cs
	}
	return info
}
