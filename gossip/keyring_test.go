package gossip

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// TestGossip_secretKey checks that nodes sharing a key form a cluster and
// that a node with another key, or none, can neither join it nor be seen
// by it.
func TestGossip_secretKey(t *testing.T) {
	t.Parallel()
	key := bytes.Repeat([]byte{7}, 32)
	a := startNode(t, withKey(testConfig(t, "ka"), key))
	seed := a.LocalMember().Addr
	b := startNode(t, withKey(testConfig(t, "kb", seed), key))
	waitConverged(t, []*testNode{a, b}, "ka", "kb")

	for _, tc := range []struct {
		name string
		key  []byte
	}{
		{"kwrong", bytes.Repeat([]byte{8}, 32)},
		{"knone", nil},
		{"kshort", bytes.Repeat([]byte{7}, 16)}, // a different AES-128 key
	} {
		cfg := withKey(testConfig(t, tc.name, seed), tc.key)
		cfg.JoinRetryMax = 3
		n := startNode(t, cfg)
		select {
		case <-n.seedsDone:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: join loop still trying after 10s, want it to give up", tc.name)
		}
		if n.Joined() {
			t.Errorf("%s: Joined() = true with a different key, want false", tc.name)
		}
		if got := n.NumMembers(); got != 1 {
			t.Errorf("%s: sees %d members, want 1 (itself)", tc.name, got)
		}
		for _, m := range a.Members() {
			if m.Name == tc.name {
				t.Errorf("keyed node lists %s, which has a different key", tc.name)
			}
		}
	}
	if got := a.NumMembers(); got != 2 {
		t.Errorf("keyed cluster has %d members, want 2", got)
	}
}

func TestConfig_secretKeyLength(t *testing.T) {
	for _, n := range []int{0, 16, 24, 32} {
		cfg := withKey(DefaultLocalConfig(), make([]byte, n))
		if n == 0 {
			cfg.SecretKey = nil
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("%d-byte key: got %v, want valid", n, err)
		}
	}
	for _, n := range []int{1, 15, 31, 33, 64} {
		cfg := withKey(DefaultLocalConfig(), make([]byte, n))
		if err := cfg.Validate(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%d-byte key: got %v, want ErrInvalidConfig", n, err)
		}
	}
}

func withKey(cfg Config, key []byte) Config {
	cfg.SecretKey = key
	return cfg
}
