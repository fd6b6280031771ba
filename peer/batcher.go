package peer

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// batcher sends items to one peer in batches. It holds at most one request
// in flight: items that arrive meanwhile queue up and leave together in the
// next request, so an idle peer gets each item at once and a busy one gets
// few large requests (batching by load, not by a fixed delay).
//
// Under load (the last batch held more than one item) it also paces its
// batches: the next leaves no sooner than pace after the last one left,
// or once max items wait. Over the peer stream a request's round trip is
// a fraction of a millisecond, so without pacing a busy batcher sends
// batches of three or four items and every batch costs both nodes a
// frame each way; a few milliseconds' wait, paid only by items that
// already queued behind others, makes them larger. An item that finds
// the batcher idle leaves at once.
//
// The queue is a slice that grows with what waits, up to its cap, rather
// than a channel of the cap's size: every member has two batchers, and a
// channel of 8192 calls would hold about 1 MiB per member from its first
// moment, in use or not.
type batcher[T, R any] struct {
	wake chan struct{} // one slot: the queue went from empty to not
	send func(ctx context.Context, items []T) ([]R, error)
	max  int
	cap  int
	pace time.Duration // zero: no pacing

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// failing is set while the last request failed: callers do not wait
	// for room behind a peer that is unreachable (enqueueWait).
	failing atomic.Bool

	// mu guards q, room and stopped.
	mu      sync.Mutex
	q       []batchCall[T, R]
	room    chan struct{} // closed when take frees slots; nil while nobody waits
	stopped bool
}

// batchCall is one queued item and where its result goes.
type batchCall[T, R any] struct {
	item T
	done chan<- batchResult[R] // buffered by the caller; may be nil
}

// batchResult is the outcome of one item.
type batchResult[R any] struct {
	val R
	err error
}

// newBatcher starts a batcher with a queue of at most queue items,
// batches of at most max items, and batches under load at most one per
// pace (zero: no pacing). Stop it with stop.
func newBatcher[T, R any](parent context.Context, queue, max int, pace time.Duration, send func(context.Context, []T) ([]R, error)) *batcher[T, R] {
	ctx, cancel := context.WithCancel(parent)
	b := &batcher[T, R]{wake: make(chan struct{}, 1), send: send, max: max, cap: queue, pace: pace, ctx: ctx, cancel: cancel}
	b.wg.Go(b.run)
	return b
}

// enqueue queues item; it reports false when the queue is full or the
// batcher stopped, in which case done gets nothing.
func (b *batcher[T, R]) enqueue(item T, done chan<- batchResult[R]) bool {
	ok, _ := b.offer(item, done, nil)
	return ok
}

// enqueueWait queues item like enqueue, but while the queue is full it
// waits for room until ctx ends: back-pressure on the caller rather than
// a dropped item. It does not wait while the peer's last request failed
// (an unreachable peer is left to anti-entropy, not waited for).
func (b *batcher[T, R]) enqueueWait(ctx context.Context, item T, done chan<- batchResult[R]) bool {
	return b.offerWait(ctx, item, done, nil)
}

// enqueueOrMerge queues item, which wants no result, or folds it into
// the last queued item when that one wants no result either and merge
// takes it (merge reports whether it did). Merging only into the tail
// keeps the items' order. While the queue is full and the tail does not
// take item, it waits for room until ctx ends. It reports false when
// item was neither merged nor queued.
func (b *batcher[T, R]) enqueueOrMerge(ctx context.Context, item T, merge func(tail *T) bool) bool {
	return b.offerWait(ctx, item, nil, merge)
}

// offerWait retries offer, waiting for room between tries, until it
// succeeds or ctx or the batcher ends.
func (b *batcher[T, R]) offerWait(ctx context.Context, item T, done chan<- batchResult[R], merge func(tail *T) bool) bool {
	for {
		ok, room := b.offer(item, done, merge)
		if ok || room == nil || b.failing.Load() {
			return ok
		}
		select {
		case <-room:
		case <-ctx.Done():
			return false
		case <-b.ctx.Done():
			return false
		}
	}
}

// offer merges item into the tail (with merge, when done is nil and the
// tail wants no result either) or queues it. When the queue is full it
// returns a channel closed once there is room; when the batcher stopped,
// neither.
func (b *batcher[T, R]) offer(item T, done chan<- batchResult[R], merge func(tail *T) bool) (bool, <-chan struct{}) {
	if b.ctx.Err() != nil {
		return false, nil
	}
	b.mu.Lock()
	if b.stopped {
		b.mu.Unlock()
		return false, nil
	}
	if last := len(b.q) - 1; merge != nil && done == nil && last >= 0 && b.q[last].done == nil && merge(&b.q[last].item) {
		b.mu.Unlock()
		return true, nil // the tail was queued with a wake-up already
	}
	if len(b.q) >= b.cap {
		if b.room == nil {
			b.room = make(chan struct{})
		}
		room := b.room
		b.mu.Unlock()
		return false, room
	}
	b.q = append(b.q, batchCall[T, R]{item: item, done: done})
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default: // a wake-up is already pending
	}
	return true, nil
}

// pending returns how many items wait to be sent.
func (b *batcher[T, R]) pending() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.q)
}

// stop ends the batcher; queued items fail with the context's error.
func (b *batcher[T, R]) stop() {
	b.cancel()
	b.wg.Wait()
	b.mu.Lock()
	b.stopped = true
	left := b.q
	b.q = nil
	b.mu.Unlock()
	for _, c := range left {
		reply(c.done, batchResult[R]{err: context.Canceled})
	}
}

// take moves up to max queued calls into calls. An emptied queue drops
// its backing array, so an idle peer holds no memory for it.
func (b *batcher[T, R]) take(calls []batchCall[T, R]) []batchCall[T, R] {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := min(len(b.q), b.max)
	calls = append(calls, b.q[:n]...)
	if n > 0 && b.room != nil {
		close(b.room)
		b.room = nil
	}
	clear(b.q[:n]) // drop the references the sent calls hold
	switch {
	case n < len(b.q):
		b.q = b.q[n:]
	case cap(b.q) <= keptQueue:
		b.q = b.q[:0] // the next batch queues without allocating
	default:
		b.q = nil
	}
	return calls
}

// keptQueue is the largest queue array an emptied batcher keeps for its
// next batch: what light load queues between two requests, without
// holding a burst's worth for every member.
const keptQueue = 64

func (b *batcher[T, R]) run() {
	var calls []batchCall[T, R]
	var items []T
	var last time.Time // when the last batch left
	busy := false      // the last batch held more than one item
	for {
		select {
		case <-b.ctx.Done():
			return
		case <-b.wake:
		}
		for b.ctx.Err() == nil {
			if busy {
				b.waitPace(last)
			}
			calls, items = b.take(calls[:0]), items[:0]
			if len(calls) == 0 {
				break
			}
			last, busy = time.Now(), len(calls) > 1
			for _, c := range calls {
				items = append(items, c.item)
			}
			res, err := b.send(b.ctx, items)
			if err == nil && len(res) != len(calls) {
				err = errBatchReply
			}
			b.failing.Store(err != nil)
			for i, c := range calls {
				r := batchResult[R]{err: err}
				if err == nil {
					r.val = res[i]
				}
				reply(c.done, r)
			}
			clear(items) // drop the references the sent batch holds
			clear(calls)
		}
	}
}

// waitPace waits until pace has passed since last, max items wait, or
// the batcher stops.
func (b *batcher[T, R]) waitPace(last time.Time) {
	d := b.pace - time.Since(last)
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	for b.pending() < b.max {
		select {
		case <-t.C:
			return
		case <-b.ctx.Done():
			return
		case <-b.wake:
		}
	}
}

// reply delivers r without blocking.
func reply[R any](done chan<- batchResult[R], r batchResult[R]) {
	if done == nil {
		return
	}
	select {
	case done <- r:
	default:
	}
}
