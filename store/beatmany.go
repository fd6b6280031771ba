package store

// BeatKey names the instance one beat of a batch is for.
type BeatKey struct {
	Service  Key
	Instance InstanceKey
}

// BeatOutcome is what one beat of BeatMany did: Beat's result or error.
type BeatOutcome struct {
	Result BeatResult
	Err    error
}

// beatManyChunk bounds the beats BeatMany applies under one hold of the
// lock, so a batch does not hold up reads and writes for long.
const beatManyChunk = 256

// BeatMany records the heartbeats of keys as Beat does, one outcome per
// key in order (out must be as long as keys), taking the lock once per
// beatManyChunk beats rather than once per beat.
func (s *Store) BeatMany(keys []BeatKey, out []BeatOutcome) {
	for from := 0; from < len(keys); from += beatManyChunk {
		to := min(from+beatManyChunk, len(keys))
		s.mu.Lock()
		for i := from; i < to; i++ {
			out[i].Result, out[i].Err = s.beatLocked(keys[i].Service, keys[i].Instance)
		}
		s.mu.Unlock()
	}
}
