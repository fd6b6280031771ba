package peer

import (
	"math/bits"
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
//
// Delta requests are also read into pooled buffers, released once their
// handler returned: their records are decoded into strings and maps of
// their own (the generated decoders copy), so nothing they leave in the
// store points into the frame. Other frames are read into buffers of
// their own; some are decoded where they lie.

// deltasPath is the endpoint whose request frames are read into pooled
// buffers.
const deltasPath = "/internal/v1/deltas"

// pooledBodyMax is the largest buffer the pool keeps: a delta batch of
// a busy moment, not a dump's.
const pooledBodyMax = 64 << 10

// bodyPool is a pool of buffers of about one use's sizes. Requests are
// encoded into buffers of their estimated size (an upper bound, often
// twice the bytes written) and read into buffers of their exact size, so
// each has a pool of its own: in one pool, most read buffers would be
// too small for the next encoding and be dropped.
type bodyPool struct{ p sync.Pool } // of *[]byte

var (
	sendBodies bodyPool // request bodies encoded for a stream
	readBodies bodyPool // delta request frames read from a stream
)

// get returns an empty slice with room for n bytes, the pool's when it
// has one large enough. A new one is rounded up to a power of two (at
// least 1 KiB), so that what comes back fits the next ones of about the
// same size.
func (bp *bodyPool) get(n int) []byte {
	if n > pooledBodyMax {
		return make([]byte, 0, n)
	}
	if p, ok := bp.p.Get().(*[]byte); ok && cap(*p) >= n {
		return (*p)[:0]
	}
	return make([]byte, 0, max(1024, 1<<bits.Len(uint(n-1))))
}

// put gives b back to the pool. Nothing may read or write it afterwards.
func (bp *bodyPool) put(b []byte) {
	if c := cap(b); c == 0 || c > pooledBodyMax {
		return
	}
	bp.p.Put(&b)
}

// marshalPooled encodes m into a pooled buffer.
func marshalPooled(m msgp.Marshaler) ([]byte, error) {
	n := 0
	if sz, ok := m.(msgp.Sizer); ok {
		n = sz.Msgsize()
	}
	return m.MarshalMsg(sendBodies.get(n))
}
