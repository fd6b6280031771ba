package peer

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Config configures a node's transport. Every field is documented with its
// meaning and default; DefaultConfig fills them.
type Config struct {
	// Self is this node's name, sent with every request.
	Self string
	// Timeout bounds one internal request. Default 5s.
	Timeout time.Duration
	// HandoffTimeout is how long a node waits for an owner's answer to a
	// handed-off beat before it handles the beat itself; an owner refuses
	// hand-offs older than that plus HandoffSkew. Default 1s.
	HandoffTimeout time.Duration
	// Secret, if set, keys the HMAC that signs and verifies every internal
	// request (hmac.go). Default nil: requests are checked only by member
	// name and source host.
	Secret []byte
	// TLS makes requests to peers use https with PeerTLS (nil: the system
	// roots, no client certificate). Default false.
	TLS     bool
	PeerTLS *tls.Config
	// Stream sends internal requests to each peer over one persistent
	// connection per pair of nodes (stream.go, stream_link.go) instead of
	// one HTTP request each; a peer that does not accept it, and a request
	// too large for a frame, still go over HTTP. Without it, the node
	// still answers streams, one-way only. Default false.
	Stream bool
	// StreamPing is how often an idle stream is checked: the side that
	// dialed it writes a ping when it wrote nothing for StreamPing, the
	// other answers it, and a side that read nothing for three of them
	// drops the connection (stream.go). A peer of a build that predates
	// it gets the pings it expects instead: every 5 s or StreamPing,
	// whichever is shorter, from both sides. Default 30s.
	StreamPing time.Duration
	// Allow, if set, says whether this node may send to a peer; tests and
	// fault injection use it to cut the network. Default nil (all).
	Allow func(peer string) bool
	// StatusOf maps the error of a handed-off beat to the HTTP status the
	// sender answers its client with. Default: 500 for every error.
	StatusOf func(error) int
	// DeltaQueue bounds the writes waiting in each member's delta queue;
	// past it a write is left to anti-entropy for that member. Default
	// 8192.
	DeltaQueue int
	// BatchPace spaces the batches of deltas to a busy member: after a
	// batch of more than one item, the next leaves no sooner than
	// BatchPace after it (or once a batch's worth waits), so writes
	// queued behind others travel in fewer, larger frames. An item that
	// finds its queue idle leaves at once (batcher.go). A client's write
	// waits for a peer's confirmation, so this is short. Zero: no
	// pacing. Default 3ms.
	BatchPace time.Duration
	// HandoffPace spaces the batches of beats handed off to a busy owner
	// alike. A beat's client waits for the owner's answer too, but
	// nothing of a beat's answer depends on a few milliseconds, and
	// hand-offs are the most numerous requests between nodes: 20ms cut
	// the CPU per handed-off beat by a third below the peak, but deepened
	// the dips of an overloaded cluster (docs/performance.md). Zero: no
	// pacing. Default zero.
	HandoffPace time.Duration
	// Logger receives the transport's logs. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// MaxBatchPace bounds Config.BatchPace and HandoffPace: a write's client waits for a
// peer's confirmation, and a handed-off beat for its owner's answer.
const MaxBatchPace = 100 * time.Millisecond

// HandoffSkew is how far apart the nodes' clocks may be before fresh
// hand-offs count as stale.
const HandoffSkew = time.Second

// DefaultConfig returns a Config with every field set to its default.
func DefaultConfig() Config {
	return Config{Timeout: 5 * time.Second, HandoffTimeout: time.Second, DeltaQueue: 8192, BatchPace: 3 * time.Millisecond, StreamPing: 30 * time.Second,
		Logger: slog.Default(), Now: time.Now,
		StatusOf: func(error) int { return 500 }}
}

// Validate reports the first invalid field.
func (c *Config) Validate() error {
	switch {
	case c.Self == "":
		return errors.New("peer: config: self is empty")
	case c.Timeout <= 0 || c.HandoffTimeout <= 0:
		return errors.New("peer: config: timeouts must be positive")
	case c.DeltaQueue <= 0:
		return errors.New("peer: config: delta queue must be positive")
	case c.BatchPace < 0 || c.BatchPace > MaxBatchPace:
		return fmt.Errorf("peer: config: batch pace %v is not in [0, %v]", c.BatchPace, MaxBatchPace)
	case c.HandoffPace < 0 || c.HandoffPace > MaxBatchPace:
		return fmt.Errorf("peer: config: hand-off pace %v is not in [0, %v]", c.HandoffPace, MaxBatchPace)
	case c.StreamPing < time.Millisecond || c.StreamPing > maxStreamPing:
		return fmt.Errorf("peer: config: stream ping %v is not in [1ms, %v]", c.StreamPing, maxStreamPing)
	case c.Logger == nil || c.Now == nil || c.StatusOf == nil:
		return errors.New("peer: config: logger, clock and status mapping must be set")
	}
	return nil
}
