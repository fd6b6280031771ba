package ring

import "errors"

var (
	// ErrInvalidConfig is wrapped by the errors Config.Validate and New return
	// for a configuration the ring cannot use.
	ErrInvalidConfig = errors.New("ring: invalid config")

	// ErrInvalidMember is wrapped by the error Set returns when a member has
	// an empty name or two members share a name.
	ErrInvalidMember = errors.New("ring: invalid member")

	// ErrPlacement is wrapped by the error Set returns when the consistent
	// library cannot place every partition, which a valid Config only allows
	// for a custom Hasher that maps many replica keys to the same value or
	// panics. The ring keeps its previous members when this happens.
	ErrPlacement = errors.New("ring: cannot place partitions")
)
