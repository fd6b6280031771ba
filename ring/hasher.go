package ring

import "github.com/buraksezer/consistent"

// hasher adapts a plain hash function, xxhash.Sum64 unless Config.Hasher says
// otherwise, to consistent.Hasher.
type hasher func([]byte) uint64

// Sum64 returns h(b).
func (h hasher) Sum64(b []byte) uint64 { return h(b) }

var _ consistent.Hasher = hasher(nil)
