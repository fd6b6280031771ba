package peer

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"
)

// blockingSend returns a send function that reports each batch's size on
// sizes and waits for release before answering.
func blockingSend(sizes chan<- int, release <-chan struct{}) func(context.Context, []int) ([]int, error) {
	return func(ctx context.Context, items []int) ([]int, error) {
		sizes <- len(items)
		select {
		case <-release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return items, nil
	}
}

// TestBatcher_batchesWhatPilesUp: items queued while a request is in
// flight leave together in the next one, up to max, and each caller gets
// its own answer.
func TestBatcher_batchesWhatPilesUp(t *testing.T) {
	sizes, release := make(chan int, 10), make(chan struct{})
	b := newBatcher(context.Background(), 100, 8, 0, blockingSend(sizes, release))
	defer b.stop()
	first := make(chan batchResult[int], 1)
	if !b.enqueue(-1, first) {
		t.Fatal("enqueue refused on an empty queue")
	}
	if got := <-sizes; got != 1 {
		t.Fatalf("first batch %d items, want 1", got)
	}
	dones := make([]chan batchResult[int], 10)
	for i := range dones {
		dones[i] = make(chan batchResult[int], 1)
		if !b.enqueue(i, dones[i]) {
			t.Fatalf("enqueue %d refused", i)
		}
	}
	if got := b.pending(); got != 10 {
		t.Errorf("pending %d, want 10", got)
	}
	close(release)
	if r := <-first; r.err != nil || r.val != -1 {
		t.Errorf("first answer %+v", r)
	}
	if a, c := <-sizes, <-sizes; a != 8 || c != 2 {
		t.Errorf("batches of %d and %d, want 8 and 2 (max 8)", a, c)
	}
	for i, d := range dones {
		if r := <-d; r.err != nil || r.val != i {
			t.Errorf("item %d answered %+v", i, r)
		}
	}
}

// TestBatcher_fullQueueAndStop: a full queue refuses more; stop fails
// what waits with context.Canceled and refuses everything after.
func TestBatcher_fullQueueAndStop(t *testing.T) {
	sizes, release := make(chan int, 10), make(chan struct{})
	b := newBatcher(context.Background(), 3, 8, 0, blockingSend(sizes, release))
	b.enqueue(0, nil)
	<-sizes // in flight: the queue is empty again
	dones := make([]chan batchResult[int], 3)
	for i := range dones {
		dones[i] = make(chan batchResult[int], 1)
		if !b.enqueue(i, dones[i]) {
			t.Fatalf("enqueue %d refused below the cap", i)
		}
	}
	if b.enqueue(99, nil) {
		t.Error("enqueue accepted past the cap of 3")
	}
	b.stop()
	for i, d := range dones {
		select {
		case r := <-d:
			if !errors.Is(r.err, context.Canceled) {
				t.Errorf("item %d: %v, want context.Canceled", i, r.err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("item %d got no answer after stop", i)
		}
	}
	if b.enqueue(100, nil) {
		t.Error("enqueue accepted after stop")
	}
}

// TestBatcher_idleHoldsLittle: an idle batcher's heap does not depend on
// its queue cap (a channel of 8192 hand-off calls held ~850 KB for each
// member of the cluster, in use or not).
func TestBatcher_idleHoldsLittle(t *testing.T) {
	const n = 200
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	bs := make([]*batcher[BeatCall, BeatAnswer], n)
	for i := range bs {
		bs[i] = newBatcher(context.Background(), 8192, 1024, 0, func(context.Context, []BeatCall) ([]BeatAnswer, error) { return nil, nil })
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / n
	for _, b := range bs {
		b.stop()
	}
	if per > 64<<10 { // far above the ~1 KiB it holds, far below the 1 MiB it held
		t.Errorf("an idle batcher holds %d bytes of heap, want under 64 KiB", per)
	}
	t.Logf("idle batcher: %d bytes of heap", per)
}

// TestBatcher_emptiedQueueKeepsItsArray: a queue emptied by a batch keeps
// its array for the next one, so light load queues without allocating,
// unless a burst grew it past keptQueue.
func TestBatcher_emptiedQueueKeepsItsArray(t *testing.T) {
	b := &batcher[int, int]{wake: make(chan struct{}, 1), max: 512, cap: 8192, ctx: context.Background()}
	var calls []batchCall[int, int]
	cycle := func(n int) {
		for i := range n {
			b.offer(i, nil, nil)
		}
		if calls = b.take(calls[:0]); len(calls) != n {
			t.Fatalf("took %d calls, want %d", len(calls), n)
		}
	}
	cycle(8)
	if got := testing.AllocsPerRun(100, func() { cycle(8) }); got != 0 {
		t.Errorf("a batch of 8 after the first: %v allocations, want 0", got)
	}
	cycle(2 * keptQueue)
	if b.q != nil {
		t.Errorf("after a burst of %d the emptied queue holds an array of %d", 2*keptQueue, cap(b.q))
	}
}
