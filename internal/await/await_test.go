package await

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// fakeTB records a failure instead of ending the test.
type fakeTB struct{ failed string }

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed = fmt.Sprintf(format, args...)
}

func TestUntil_returnsWhenTheConditionHolds(t *testing.T) {
	calls := 0
	start := time.Now()
	at, err := Until(context.Background(), 5*time.Millisecond, 5*time.Second, func() bool { calls++; return calls == 3 })
	if err != nil || calls != 3 {
		t.Fatalf("got err %v after %d calls, want nil after 3", err, calls)
	}
	if at.Before(start) || time.Since(start) > 2*time.Second {
		t.Errorf("got time %v, want between the start and now", at.Sub(start))
	}
}

func TestUntil_timesOut(t *testing.T) {
	calls := 0
	_, err := Until(context.Background(), 5*time.Millisecond, 30*time.Millisecond, func() bool { calls++; return false })
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("got %v, want ErrTimeout", err)
	}
	if calls < 2 || calls > 20 {
		t.Errorf("got %d calls in 30ms at 5ms, want a handful", calls)
	}
}

func TestUntil_stopsWithTheContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Until(ctx, time.Millisecond, time.Minute, func() bool { return false }); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

func TestTrue(t *testing.T) {
	var tb fakeTB
	n := 0
	if d := True(&tb, time.Second, "third call", func() bool { n++; return n == 3 }); tb.failed != "" || d <= 0 {
		t.Fatalf("got failure %q and duration %v, want none and > 0", tb.failed, d)
	}
	True(&tb, 30*time.Millisecond, "never", func() bool { return false })
	if want := "never: not true within 30ms"; tb.failed != want {
		t.Errorf("got failure %q, want %q", tb.failed, want)
	}
}

func TestExplain_quotesTheLastDescription(t *testing.T) {
	var tb fakeTB
	n := 0
	Explain(&tb, 30*time.Millisecond, "count", func() (bool, string) { n++; return false, fmt.Sprintf("seen %d", n) })
	if want := fmt.Sprintf("count: not true within 30ms; last: seen %d", n); tb.failed != want {
		t.Errorf("got failure %q, want %q", tb.failed, want)
	}
}
