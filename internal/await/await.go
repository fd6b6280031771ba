// Package await is the one polling helper of roster's tests, benchmarks
// and tools: ask a condition at once and then at a fixed interval until it
// holds or a time limit passes. Until serves code that runs outside tests
// (the bench, the chaos suite, the process launcher); True and Explain fail
// a test through the small TB interface, so the package does not import
// testing.
package await

import (
	"context"
	"errors"
	"time"
)

// Interval is how often True and Explain ask their condition: often
// enough that a test measuring how soon something happened (a failover, a
// repair) errs by a few milliseconds at most.
const Interval = 5 * time.Millisecond

// ErrTimeout is Until's error when the condition did not hold in time.
var ErrTimeout = errors.New("await: timed out")

// Until calls cond at once and then every interval until cond reports
// true, ctx ends or within passes (cond is asked once more at the limit).
// It returns when cond first held, or ErrTimeout, or ctx's error.
func Until(ctx context.Context, interval, within time.Duration, cond func() bool) (time.Time, error) {
	deadline := time.Now().Add(within)
	t := time.NewTicker(max(interval, time.Millisecond))
	defer t.Stop()
	for {
		if cond() {
			return time.Now(), nil
		}
		if time.Now().After(deadline) {
			return time.Time{}, ErrTimeout
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-t.C:
		}
	}
}

// TB is the part of testing.TB that True and Explain use.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
}

// True waits until cond holds, asking every Interval, and returns how long
// that took; if cond does not hold within `within` it fails tb with
// "<what>: not true within <within>".
func True(tb TB, within time.Duration, what string, cond func() bool) time.Duration {
	tb.Helper()
	start := time.Now()
	if _, err := Until(context.Background(), Interval, within, cond); err != nil {
		tb.Fatalf("%s: not true within %v", what, within)
	}
	return time.Since(start)
}

// Explain is True for a condition that also describes what it saw: the
// failure quotes the last description.
func Explain(tb TB, within time.Duration, what string, cond func() (bool, string)) time.Duration {
	tb.Helper()
	var last string
	start := time.Now()
	_, err := Until(context.Background(), Interval, within, func() bool {
		ok, desc := cond()
		last = desc
		return ok
	})
	if err != nil {
		tb.Fatalf("%s: not true within %v; last: %s", what, within, last)
	}
	return time.Since(start)
}
