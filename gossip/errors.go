package gossip

import "errors"

var (
	// ErrStarted is returned by Start when the Gossip was already started.
	ErrStarted = errors.New("gossip: already started")

	// ErrNotStarted is returned by Leave when Start has not succeeded yet.
	ErrNotStarted = errors.New("gossip: not started")

	// ErrClosed is returned by Start, SetReady and Leave after Shutdown, and
	// by SetReady after Leave.
	ErrClosed = errors.New("gossip: shut down")

	// ErrInvalidConfig is wrapped by every error that Config.Validate returns.
	ErrInvalidConfig = errors.New("gossip: invalid config")
)
