package store

// RegisterItem is one registration of a batch: instance In of service Key.
type RegisterItem struct {
	Key Key
	In  Instance
}

// RegisterOutcome is what one registration of RegisterManyWithin did: the
// instance as stored, or the error RegisterWithin would have returned.
type RegisterOutcome struct {
	Instance Instance
	Err      error
}

// registerManyChunk bounds the registrations RegisterManyWithin applies
// under one hold of the lock, so a batch does not hold up reads and
// writes for long.
const registerManyChunk = 128

// RegisterManyWithin registers items as RegisterWithin would one by one,
// in order, one outcome per item (out must be as long as items), taking
// the lock once per registerManyChunk items rather than once per item.
// The instances are defaulted before the lock is taken.
func (s *Store) RegisterManyWithin(items []RegisterItem, lim Limits, out []RegisterOutcome) {
	prepared := make([]Instance, 0, min(len(items), registerManyChunk))
	for from := 0; from < len(items); from += registerManyChunk {
		to := min(from+registerManyChunk, len(items))
		prepared = prepared[:0]
		for i := from; i < to; i++ {
			prepared = append(prepared, items[i].In.withDefaults())
		}
		s.mu.Lock()
		for i := from; i < to; i++ {
			out[i].Instance, out[i].Err = s.registerWithinLocked(items[i].Key, prepared[i-from], lim)
		}
		s.mu.Unlock()
	}
}
