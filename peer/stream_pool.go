package peer

import (
	"sync"

	"github.com/tinylib/msgp/msgp"
)

// Request bodies sent on a stream are encoded into pooled buffers: a
// client write's deltas, a hand-off's beats and every other internal
// request were a fresh allocation each, about a seventh of the bytes an
// agent allocates under registrations. The body belongs to the session
// once queued: its writer returns the buffer after writing the frame,
// and the caller never reads the body again (a request sent once more
// on another connection is encoded again). A frame never written (its
// connection broke first) leaves its buffer to the collector.

// pooledBodyMax is the largest buffer the pool keeps: a delta batch of
// a busy moment, not a dump's.
const pooledBodyMax = 64 << 10

var bodyPool sync.Pool // of *[]byte

// pooledBody returns an empty slice with room for n bytes, the pool's
// when it has one large enough.
func pooledBody(n int) []byte {
	if n <= pooledBodyMax {
		if p, ok := bodyPool.Get().(*[]byte); ok && cap(*p) >= n {
			return (*p)[:0]
		}
	}
	return make([]byte, 0, max(n, 512))
}

// releaseBody gives b back to the pool. Nothing may read or write it
// afterwards.
func releaseBody(b []byte) {
	if c := cap(b); c == 0 || c > pooledBodyMax {
		return
	}
	bodyPool.Put(&b)
}

// marshalPooled encodes m into a pooled buffer.
func marshalPooled(m msgp.Marshaler) ([]byte, error) {
	n := 0
	if sz, ok := m.(msgp.Sizer); ok {
		n = sz.Msgsize()
	}
	return m.MarshalMsg(pooledBody(n))
}
