package peer

import (
	"context"
	"testing"
	"time"
)

// sent is one batch a test's send function saw.
type sent struct {
	n  int
	at time.Time
}

// tokenSend returns a send function that reports each batch on out and
// answers it once it takes a token from release.
func tokenSend(out chan<- sent, release <-chan struct{}) func(context.Context, []int) ([]int, error) {
	return func(ctx context.Context, items []int) ([]int, error) {
		out <- sent{len(items), time.Now()}
		select {
		case <-release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return items, nil
	}
}

// next returns the next batch sent, failing the test after wait.
func next(t *testing.T, out <-chan sent, wait time.Duration) sent {
	t.Helper()
	select {
	case s := <-out:
		return s
	case <-time.After(wait):
		t.Fatalf("no batch sent within %v", wait)
		return sent{}
	}
}

// TestBatcher_pacesOnlyUnderLoad: a lone item leaves at once, even right
// after another lone item; once a batch held more than one item, what
// queues next leaves together, no sooner than the pace after it.
func TestBatcher_pacesOnlyUnderLoad(t *testing.T) {
	const pace = 400 * time.Millisecond
	out, release := make(chan sent, 10), make(chan struct{}, 10)
	b := newBatcher(context.Background(), 100, 8, pace, tokenSend(out, release))
	defer b.stop()

	done := make(chan batchResult[int], 1)
	release <- struct{}{}
	b.enqueue(1, done)
	first := next(t, out, 5*time.Second)
	<-done
	release <- struct{}{}
	b.enqueue(2, done)
	second := next(t, out, 5*time.Second)
	<-done
	if gap := second.at.Sub(first.at); second.n != 1 || gap >= pace/2 {
		t.Fatalf("a lone item after a lone item: batch of %d, %v after the last; want 1, at once (pace %v)", second.n, gap, pace)
	}

	// Load: two items pile up behind one in flight.
	b.enqueue(3, nil)
	next(t, out, 5*time.Second)
	b.enqueue(4, nil)
	b.enqueue(5, nil)
	release <- struct{}{}
	pair := next(t, out, 5*time.Second)
	if pair.n != 2 {
		t.Fatalf("batch of %d items behind the one in flight, want 2", pair.n)
	}
	b.enqueue(6, nil)
	b.enqueue(7, nil)
	release <- struct{}{} // answers the pair; 6 and 7 wait for the pace
	b.enqueue(8, nil)
	paced := next(t, out, 5*time.Second)
	if gap := paced.at.Sub(pair.at); paced.n != 3 || gap < pace-50*time.Millisecond {
		t.Errorf("under load: batch of %d, %v after the last; want 3, no sooner than %v", paced.n, gap, pace)
	}
	release <- struct{}{}
}

// TestBatcher_paceEndsWhenABatchWaits: a full batch's worth of items
// leaves without waiting out the pace, and stop ends a pace's wait.
func TestBatcher_paceEndsWhenABatchWaits(t *testing.T) {
	out, release := make(chan sent, 10), make(chan struct{}, 10)
	b := newBatcher(context.Background(), 100, 4, time.Hour, tokenSend(out, release))
	b.enqueue(0, nil)
	next(t, out, 5*time.Second)
	b.enqueue(1, nil)
	b.enqueue(2, nil)
	release <- struct{}{}
	next(t, out, 5*time.Second) // two items: the batcher is busy now
	b.enqueue(3, nil)
	release <- struct{}{}
	for i := range 4 {
		b.enqueue(4+i, nil)
	}
	if s := next(t, out, 5*time.Second); s.n != 4 {
		t.Errorf("batch of %d once 4 (max) waited, want 4", s.n)
	}
	b.enqueue(9, nil)
	release <- struct{}{} // the next waits for the hour's pace
	stopped := make(chan struct{})
	go func() { b.stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("stop did not end the pace's wait")
	}
}

// TestConfig_paces: each member's delta queue is paced by BatchPace and
// its hand-off queue by HandoffPace; a negative pace, or one past
// MaxBatchPace, is refused.
func TestConfig_paces(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Self, cfg.BatchPace, cfg.HandoffPace = "n9", 7*time.Millisecond, 31*time.Millisecond
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	tr.SetMembers([]Member{{Name: "n1", HTTPAddr: "127.0.0.1:1"}})
	tr.mu.Lock()
	q := tr.queues["n1"]
	tr.mu.Unlock()
	if q == nil || q.deltas.pace != cfg.BatchPace || q.beats.pace != cfg.HandoffPace {
		t.Fatalf("queues of n1 %+v; want deltas paced %v, hand-offs %v", q, cfg.BatchPace, cfg.HandoffPace)
	}
	for _, bad := range []func(*Config){
		func(c *Config) { c.BatchPace = -time.Millisecond },
		func(c *Config) { c.BatchPace = MaxBatchPace + 1 },
		func(c *Config) { c.HandoffPace = -time.Millisecond },
		func(c *Config) { c.HandoffPace = MaxBatchPace + 1 },
	} {
		c := DefaultConfig()
		c.Self = "n9"
		bad(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("config with batch pace %v and hand-off pace %v accepted", c.BatchPace, c.HandoffPace)
		}
	}
}
