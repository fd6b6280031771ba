package peer

import (
	"context"
	"sync"
)

// batcher sends items to one peer in batches. It holds at most one request
// in flight: items that arrive meanwhile queue up and leave together in the
// next request, so an idle peer gets each item at once and a busy one gets
// few large requests (batching by load, not by a fixed delay).
type batcher[T, R any] struct {
	in   chan batchCall[T, R]
	send func(ctx context.Context, items []T) ([]R, error)
	max  int

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
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

// newBatcher starts a batcher with a queue of size queue and batches of at
// most max items. Stop it with stop.
func newBatcher[T, R any](parent context.Context, queue, max int, send func(context.Context, []T) ([]R, error)) *batcher[T, R] {
	ctx, cancel := context.WithCancel(parent)
	b := &batcher[T, R]{in: make(chan batchCall[T, R], queue), send: send, max: max, ctx: ctx, cancel: cancel}
	b.wg.Go(b.run)
	return b
}

// enqueue queues item; it reports false when the queue is full or the
// batcher stopped, in which case done gets nothing.
func (b *batcher[T, R]) enqueue(item T, done chan<- batchResult[R]) bool {
	if b.ctx.Err() != nil {
		return false
	}
	select {
	case b.in <- batchCall[T, R]{item: item, done: done}:
		return true
	default:
		return false
	}
}

// pending returns how many items wait to be sent.
func (b *batcher[T, R]) pending() int { return len(b.in) }

// stop ends the batcher; queued items fail with the context's error.
func (b *batcher[T, R]) stop() {
	b.cancel()
	b.wg.Wait()
	for {
		select {
		case c := <-b.in:
			reply(c.done, batchResult[R]{err: context.Canceled})
		default:
			return
		}
	}
}

func (b *batcher[T, R]) run() {
	calls := make([]batchCall[T, R], 0, b.max)
	items := make([]T, 0, b.max)
	for {
		calls, items = calls[:0], items[:0]
		select {
		case <-b.ctx.Done():
			return
		case c := <-b.in:
			calls = append(calls, c)
		}
	drain:
		for len(calls) < b.max {
			select {
			case c := <-b.in:
				calls = append(calls, c)
			default:
				break drain
			}
		}
		for _, c := range calls {
			items = append(items, c.item)
		}
		res, err := b.send(b.ctx, items)
		if err == nil && len(res) != len(calls) {
			err = errBatchReply
		}
		for i, c := range calls {
			r := batchResult[R]{err: err}
			if err == nil {
				r.val = res[i]
			}
			reply(c.done, r)
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
