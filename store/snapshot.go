package store

import (
	"slices"
	"sync"
	"time"
)

// Snapshot is an immutable view of one service at one index. It is safe
// for concurrent use; callers must not modify what it hands out.
type Snapshot struct {
	// Key names the service.
	Key Key
	// Exists is false for a service that has neither a live service record
	// nor live instances.
	Exists bool
	// Tracked is false for the stand-in snapshot of a service the store
	// holds no records of.
	Tracked bool
	// Explicit is true when the service was created on its own (it then
	// outlives its instances until deleted).
	Explicit bool
	// Info is the service record; zero-valued when not Explicit.
	Info ServiceInfo
	// Instances are the live instances, sorted by cluster, ip, port. They
	// are shared and must not be modified.
	Instances []*Instance
	// Index is the global change index of the service's last change.
	Index uint64
	// Modified is when the last change was applied here.
	Modified time.Time

	changed chan struct{}
	cache   sync.Map // string -> []byte
}

// Changed returns a channel closed when a newer snapshot replaces this one.
func (s *Snapshot) Changed() <-chan struct{} { return s.changed }

// Healthy counts the healthy instances.
func (s *Snapshot) Healthy() int {
	n := 0
	for i := range s.Instances {
		if s.Instances[i].Healthy {
			n++
		}
	}
	return n
}

// Find returns the live instance with key ik.
func (s *Snapshot) Find(ik InstanceKey) (Instance, bool) {
	i, ok := slices.BinarySearchFunc(s.Instances, ik, func(in *Instance, k InstanceKey) int {
		return compareInstanceKeys(in.InstanceKey, k)
	})
	if !ok {
		return Instance{}, false
	}
	return *s.Instances[i], true
}

// Cached returns the bytes cached under key for this snapshot, building
// and storing them on first use. Because a snapshot never changes, cached
// encodings stay valid for its lifetime.
func (s *Snapshot) Cached(key string, build func() []byte) []byte {
	if v, ok := s.cache.Load(key); ok {
		return v.([]byte)
	}
	b := build()
	v, _ := s.cache.LoadOrStore(key, b)
	return v.([]byte)
}

// emptySnapshot is the view of a service that does not exist.
func emptySnapshot(k Key, index uint64) *Snapshot {
	return &Snapshot{Key: k, Index: index, changed: make(chan struct{})}
}
