package store

import "slices"

//go:generate go tool msgp -file records.go -io=false -tests=false

// Record is one replicated record: an instance (or its tombstone) or a
// service record, with the service it belongs to.
type Record struct {
	Key      Key          `json:"key"`
	Instance *Instance    `json:"instance,omitempty"`
	Service  *ServiceInfo `json:"service,omitempty"`
}

// Records returns a copy of every record held, tombstones included, in a
// stable order. Anti-entropy and tests use it.
func (s *Store) Records() []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Record
	s.services.Range(func(_, v any) bool {
		out = v.(*service).appendRecordsLocked(out, nil)
		return true
	})
	slices.SortFunc(out, compareRecords)
	return out
}

func compareRecords(a, b Record) int {
	if c := compareKeys(a.Key, b.Key); c != 0 {
		return c
	}
	switch {
	case a.Service != nil && b.Service != nil:
		return 0
	case a.Service != nil:
		return -1
	case b.Service != nil:
		return 1
	}
	return compareInstanceKeys(a.Instance.InstanceKey, b.Instance.InstanceKey)
}
