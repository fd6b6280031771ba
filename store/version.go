package store

import (
	"fmt"
	"time"
)

//go:generate go tool msgp -file version.go -io=false -tests=false
//msgp:ignore hlc

// Version totally orders writes across nodes: the hybrid logical clock
// value first, the writing node's name as tie-break.
type Version struct {
	// Clock is a hybrid logical clock reading in Unix nanoseconds.
	Clock int64 `json:"clock"`
	// Node names the node that made the write.
	Node string `json:"node"`
}

// Less reports whether v orders before o.
func (v Version) Less(o Version) bool {
	if v.Clock != o.Clock {
		return v.Clock < o.Clock
	}
	return v.Node < o.Node
}

// IsZero reports whether v is the zero version (no write yet).
func (v Version) IsZero() bool { return v.Clock == 0 && v.Node == "" }

// String formats v as clock@node.
func (v Version) String() string { return fmt.Sprintf("%d@%s", v.Clock, v.Node) }

// hlc is a hybrid logical clock: it follows wall time but never goes
// backwards and always passes every clock it has observed. It is not safe
// for concurrent use; the store guards it with its mutex.
type hlc struct {
	node string
	now  func() time.Time
	last int64
}

// next returns a version newer than every version issued or observed.
func (c *hlc) next() Version {
	n := c.now().UnixNano()
	if n <= c.last {
		n = c.last + 1
	}
	c.last = n
	return Version{Clock: n, Node: c.node}
}

// observe moves the clock past v.
func (c *hlc) observe(v Version) {
	if v.Clock > c.last {
		c.last = v.Clock
	}
}
