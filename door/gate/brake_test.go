package gate

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestBrake(t *testing.T) {
	var b brake
	now := time.Unix(1_700_000_000, 0)
	for i := range brakeFree {
		if err := b.check("alice", "10.0.0.1", now); err != nil {
			t.Fatalf("attempt %d refused: %v", i, err)
		}
		b.fail("alice", "10.0.0.1", now)
	}
	var re *RetryError
	if err := b.check("alice", "10.0.0.9", now); !errors.As(err, &re) || re.RetryAfter() != 1 {
		t.Fatalf("user braked from another host: got %v, want a 1 s back-off", err)
	}
	if err := b.check("bob", "10.0.0.1", now); err == nil {
		t.Fatal("another user from the braked host passed")
	}
	if err := b.check("bob", "10.0.0.2", now); err != nil {
		t.Fatalf("another user from another host: %v", err)
	}
	// The back-off doubles with each further failure, up to brakeMax.
	for range 30 {
		b.fail("alice", "10.0.0.1", now)
	}
	if err := b.check("alice", "10.0.0.1", now.Add(brakeMax-time.Second)); err == nil {
		t.Fatal("back-off shorter than brakeMax after many failures")
	}
	if err := b.check("alice", "10.0.0.1", now.Add(brakeMax)); err != nil {
		t.Fatalf("back-off longer than brakeMax: %v", err)
	}
	b.succeed("alice", "10.0.0.1")
	if err := b.check("alice", "10.0.0.1", now); err != nil {
		t.Fatalf("a success did not clear the brake: %v", err)
	}
}

// TestBrake_bounded: guesses from many hosts for many users never keep
// more than brakeKeys counts.
func TestBrake_bounded(t *testing.T) {
	var b brake
	now := time.Unix(1_700_000_000, 0)
	for i := range 3 * brakeKeys {
		b.fail(fmt.Sprint("user-", i), fmt.Sprint("host-", i), now.Add(time.Duration(i)*time.Millisecond))
		if b.len() > brakeKeys {
			t.Fatalf("%d counts kept after %d failures, want at most %d", b.len(), i+1, brakeKeys)
		}
	}
}
