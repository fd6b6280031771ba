package ring

import (
	"errors"
	"fmt"
	"math"
	"testing"
)

func TestConfig_Validate(t *testing.T) {
	valid := DefaultConfig()
	with := func(f func(*Config)) Config {
		c := valid
		f(&c)
		return c
	}
	tests := []struct {
		name    string
		cfg     Config
		wantErr bool
	}{
		{"default", valid, false},
		{"one partition", with(func(c *Config) { c.PartitionCount = 1 }), false},
		{"one replica", with(func(c *Config) { c.ReplicationFactor = 1 }), false},
		{"load exactly 1", with(func(c *Config) { c.Load = 1 }), false},
		{"custom hasher", with(func(c *Config) { c.Hasher = func([]byte) uint64 { return 0 } }), false},
		// The library would replace these zeros with its own defaults.
		{"zero value", Config{}, true},
		{"zero partitions", with(func(c *Config) { c.PartitionCount = 0 }), true},
		{"zero replicas", with(func(c *Config) { c.ReplicationFactor = 0 }), true},
		{"zero load", with(func(c *Config) { c.Load = 0 }), true},
		// The library would loop over 2^64 partitions or find an empty circle.
		{"negative partitions", with(func(c *Config) { c.PartitionCount = -1 }), true},
		{"negative replicas", with(func(c *Config) { c.ReplicationFactor = -1 }), true},
		// The library would panic: the caps cannot hold every partition.
		{"load below 1", with(func(c *Config) { c.Load = 0.99 }), true},
		{"negative load", with(func(c *Config) { c.Load = -1.2 }), true},
		{"NaN load", with(func(c *Config) { c.Load = math.NaN() }), true},
		{"infinite load", with(func(c *Config) { c.Load = math.Inf(1) }), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if got := err != nil; got != tt.wantErr {
				t.Fatalf("Validate() = %v, want error %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("Validate() = %v, want it to wrap ErrInvalidConfig", err)
			}
			r, err := New(tt.cfg)
			if got := err != nil; got != tt.wantErr {
				t.Fatalf("New() error = %v, want error %v", err, tt.wantErr)
			}
			if got := r == nil; got != tt.wantErr {
				t.Errorf("New() ring is nil: got %v, want %v", got, tt.wantErr)
			}
		})
	}
}

// TestConfig_minimumLoadNeverPanics shows the lower bound Validate puts on
// Load is enough: with Load 1 every member's cap is ceil(partitions/members),
// and the caps add up to at least the partition count whatever the sizes.
func TestConfig_minimumLoadNeverPanics(t *testing.T) {
	for _, partitions := range []int{1, 2, 7, 271} {
		for _, replicas := range []int{1, 3} {
			t.Run(fmt.Sprintf("partitions=%d/replicas=%d", partitions, replicas), func(t *testing.T) {
				r, err := New(Config{PartitionCount: partitions, ReplicationFactor: replicas, Load: 1})
				if err != nil {
					t.Fatal(err)
				}
				for n := 1; n <= 100; n++ {
					if err := r.Set(sequentialMembers(n)); err != nil {
						t.Fatalf("Set(%d members) = %v, want nil", n, err)
					}
					limit := (partitions + n - 1) / n
					for _, m := range r.Members() {
						if got := len(r.Owned(m.Name)); got > limit {
							t.Fatalf("%d members: %s owns %d partitions, want at most %d", n, m.Name, got, limit)
						}
					}
				}
			})
		}
	}
}
