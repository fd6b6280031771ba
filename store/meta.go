package store

import (
	"encoding/binary"
	"maps"
	"slices"
)

// Instances of one service usually carry the same metadata (heartbeat
// timings, zone, version), and a map of a few entries costs more than the
// rest of an instance. The store keeps one copy of each distinct metadata
// map, counted by the entries using it, and drops it with the last. A
// stored map is never modified (values handed out share it read-only), so
// sharing is invisible to readers.

// sharedMeta is one distinct metadata map and how many entries hold it.
type sharedMeta struct {
	m    map[string]string
	key  string
	refs int
}

// metaTable interns metadata maps. It is guarded by Store.mu.
type metaTable struct {
	byKey map[string]*sharedMeta
}

// appendMetaKey appends m's canonical encoding to b: keys sorted,
// lengths prefixed, so no two different maps share a key.
func appendMetaKey(b []byte, m map[string]string) []byte {
	var small [8]string // most metadata has a few keys: sort them on the stack
	keys := small[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := m[k]
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	return b
}

// intern returns the shared copy of m with one more reference, or nil for
// an empty map (which is not shared). m itself is never kept: a map seen
// for the first time is copied, so a caller may go on using its own, and
// one already held costs no allocation (the key is built on the stack).
func (t *metaTable) intern(m map[string]string) *sharedMeta {
	if len(m) == 0 {
		return nil
	}
	if t.byKey == nil {
		t.byKey = map[string]*sharedMeta{}
	}
	var buf [256]byte
	k := appendMetaKey(buf[:0], m)
	sm := t.byKey[string(k)]
	if sm == nil {
		sm = &sharedMeta{m: maps.Clone(m), key: string(k)}
		t.byKey[sm.key] = sm
	}
	sm.refs++
	return sm
}

// release drops one reference to sm (nil is a no-op).
func (t *metaTable) release(sm *sharedMeta) {
	if sm == nil {
		return
	}
	if sm.refs--; sm.refs == 0 {
		delete(t.byKey, sm.key)
	}
}

// len returns how many distinct maps are held.
func (t *metaTable) len() int { return len(t.byKey) }
