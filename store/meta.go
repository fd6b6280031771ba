package store

import (
	"slices"
	"strings"
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

// metaKey encodes m canonically: keys sorted, lengths prefixed, so no two
// different maps share a key.
func metaKey(m map[string]string) string {
	var small [8]string // most metadata has a few keys: sort them on the stack
	keys, size := small[:0], 0
	for k, v := range m {
		keys = append(keys, k)
		size += len(k) + len(v) + 8 // two varint lengths
	}
	slices.Sort(keys)
	var b strings.Builder
	b.Grow(size)
	for _, k := range keys {
		v := m[k]
		writeLen(&b, len(k))
		b.WriteString(k)
		writeLen(&b, len(v))
		b.WriteString(v)
	}
	return b.String()
}

// writeLen writes n as a varint.
func writeLen(b *strings.Builder, n int) {
	for n >= 0x80 {
		b.WriteByte(byte(n) | 0x80)
		n >>= 7
	}
	b.WriteByte(byte(n))
}

// intern returns the shared copy of m with one more reference, or nil for
// an empty map (which is not shared).
func (t *metaTable) intern(m map[string]string) *sharedMeta {
	if len(m) == 0 {
		return nil
	}
	if t.byKey == nil {
		t.byKey = map[string]*sharedMeta{}
	}
	k := metaKey(m)
	sm := t.byKey[k]
	if sm == nil {
		sm = &sharedMeta{m: m, key: k}
		t.byKey[k] = sm
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
