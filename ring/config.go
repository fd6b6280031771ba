package ring

import (
	"fmt"
	"math"
)

// Defaults for Config; doc.go explains how they were chosen.
const (
	defaultPartitionCount    = 4093
	defaultReplicationFactor = 64
	defaultLoad              = 1.2
)

// Config tunes a Ring. Every node of a cluster must use the same Config, or
// nodes will disagree about owners.
type Config struct {
	// PartitionCount is the number of partitions keys hash into; each
	// partition has one owner. A key's partition is Hasher(key) modulo
	// PartitionCount. It must be at least 1. Default 4093.
	PartitionCount int

	// ReplicationFactor is how many points each member has on the hash
	// circle. More points cut the circle more evenly, so fewer partitions
	// spill past the load cap and fewer move when members change, but Set
	// costs grow linearly with it. It must be at least 1. Default 64.
	ReplicationFactor int

	// Load bounds the partitions a member may own to
	// ceil(Load × PartitionCount / members). It must be finite and at least
	// 1: below 1 the caps cannot hold every partition and the library
	// panics. Exactly 1 gives perfect balance but maximal reshuffling.
	// Default 1.2.
	Load float64

	// Hasher hashes keys to partitions and members to points on the circle.
	// Nil means xxhash.Sum64. It must be deterministic and the same on every
	// node; it is injectable for tests.
	Hasher func([]byte) uint64
}

// DefaultConfig returns the configuration for clusters of 1 to 100 members:
// 4093 partitions, 64 replicas per member, load 1.2, xxhash.
func DefaultConfig() Config {
	return Config{
		PartitionCount:    defaultPartitionCount,
		ReplicationFactor: defaultReplicationFactor,
		Load:              defaultLoad,
	}
}

// Validate reports whether c can be used without the consistent library
// panicking or silently replacing a zero value with its own default. The error
// wraps ErrInvalidConfig.
func (c Config) Validate() error {
	switch {
	case c.PartitionCount < 1:
		return fmt.Errorf("%w: partition count must be at least 1, got %d", ErrInvalidConfig, c.PartitionCount)
	case c.ReplicationFactor < 1:
		return fmt.Errorf("%w: replication factor must be at least 1, got %d", ErrInvalidConfig, c.ReplicationFactor)
	case math.IsNaN(c.Load) || math.IsInf(c.Load, 0) || c.Load < 1:
		return fmt.Errorf("%w: load must be a finite number of at least 1, got %v", ErrInvalidConfig, c.Load)
	}
	return nil
}
