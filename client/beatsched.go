package client

// The beat scheduler. One goroutine per client keeps every registration
// in a heap by the time its next beat is due, and at that time hands the
// beat to the owner's batch queue (beatbatch.go); the queue's answer
// schedules the next beat. A client of 100,000 instances therefore holds
// no goroutine, timer or context per instance: a beat costs a heap
// operation and its share of a batch request. Beats that cannot be
// batched (the owner is not known yet, the ring is off, the node lacks
// the batch endpoint, Config.SingleBeats) and re-registrations after a
// beat found the instance gone run in a goroutine of their own, at most
// one per instance at a time.

import (
	"container/heap"
	"errors"
	"strconv"
	"sync"
	"time"
)

// Where a registration's beat is (registration.inflight).
const (
	idle      = iota // waiting in the heap, or stopped
	inBatch          // queued for, or sent in, a batch: it cannot re-register
	inRoutine        // a goroutine of its own beats or re-registers it
)

// beatSched is the heap of registrations by their next beat.
type beatSched struct {
	// mu guards heap and the scheduling fields of every registration.
	mu   sync.Mutex
	heap regHeap
	wake chan struct{} // the heap's first beat changed
}

// regHeap orders registrations by their next beat; c.sched.mu guards it
// and the registrations' scheduling fields.
type regHeap []*registration

func (h regHeap) Len() int           { return len(h) }
func (h regHeap) Less(a, b int) bool { return h[a].due.Before(h[b].due) }
func (h regHeap) Swap(a, b int) {
	h[a], h[b] = h[b], h[a]
	h[a].idx, h[b].idx = a, b
}
func (h *regHeap) Push(x any) {
	r := x.(*registration)
	r.idx = len(*h)
	*h = append(*h, r)
}
func (h *regHeap) Pop() any {
	old := *h
	r := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	r.idx = -1
	return r
}

// schedule puts r in the heap to beat at due and wakes the scheduler if
// that is sooner than anything else; c.sched.mu must be held.
func (c *Client) scheduleLocked(r *registration, due time.Time) {
	r.due = due
	heap.Push(&c.sched.heap, r)
	if r.idx == 0 {
		select {
		case c.sched.wake <- struct{}{}:
		default:
		}
	}
}

// unscheduleLocked stops r's beats: it leaves the heap, and a beat in
// flight is dropped when it ends. It reports whether a goroutine still
// beats or re-registers r (the caller then waits for r.done); c.sched.mu
// must be held.
func (c *Client) unscheduleLocked(r *registration) bool {
	if r.stopped {
		return r.inflight == inRoutine
	}
	r.stopped = true
	if r.idx >= 0 {
		heap.Remove(&c.sched.heap, r.idx)
	}
	if r.inflight == inRoutine {
		return true
	}
	close(r.done)
	return false
}

// schedLoop fires every beat when it is due, until the client closes.
func (c *Client) schedLoop() {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	var due []*registration
	for {
		now := time.Now()
		c.sched.mu.Lock()
		due = due[:0]
		for len(c.sched.heap) > 0 && !c.sched.heap[0].due.After(now) {
			r := heap.Pop(&c.sched.heap).(*registration)
			r.inflight = inBatch // fire may change it to inRoutine
			due = append(due, r)
		}
		next := time.Hour
		if len(c.sched.heap) > 0 {
			next = c.sched.heap[0].due.Sub(now)
		}
		c.sched.mu.Unlock()
		for _, r := range due {
			c.fire(r, r.due, now)
		}
		t.Reset(next)
		select {
		case <-t.C:
		case <-c.sched.wake:
		case <-c.ctx.Done():
			return
		}
	}
}

// fire sends r's beat that was due at due: batched to the owner when the
// client knows it, else from a goroutine of its own.
func (c *Client) fire(r *registration, due, sent time.Time) {
	iv := r.beatInterval()
	if owner, ok := c.ownerURL(r.key.Service); ok && !c.noBatch.Load() && !c.cfg.SingleBeats {
		if c.enqueueBeat(owner, beatWait{r: r, due: due, sent: sent}, c.batchWindow(iv), min(c.cfg.RequestTimeout, iv/2)) {
			return
		}
		c.beatDone(r, due, sent, 0, ErrClosed)
		return
	}
	c.sched.mu.Lock()
	if r.stopped { // deregistered since it was due: no beat
		c.sched.mu.Unlock()
		return
	}
	r.inflight = inRoutine
	c.sched.mu.Unlock()
	if !c.goIfOpen(func() {
		err := c.beat(r)
		c.beatDone(r, due, sent, 0, err)
	}) {
		c.beatDone(r, due, sent, 0, ErrClosed)
	}
}

// beatDone records the outcome of r's beat that was due at due and left
// at sent (interval is the node's answer, 0 if none) and schedules the
// next: an interval after this one left, or after a backoff (the node's
// Retry-After if it shed the beat) when it failed, never later than the
// regular beat would have been.
func (c *Client) beatDone(r *registration, due, sent time.Time, interval time.Duration, err error) {
	if err == nil {
		r.setInterval(interval)
		c.countBeat(r)
	}
	iv := r.beatInterval()
	wait := iv
	if err != nil {
		c.sched.mu.Lock()
		r.fails++
		fails := r.fails
		c.sched.mu.Unlock()
		wait = min(c.backoff(fails-1), iv)
		if ra := retryAfter(err); ra > wait {
			wait = min(ra, iv)
		}
	}
	c.sched.mu.Lock()
	was := r.inflight
	r.inflight = idle
	if r.stopped || c.ctx.Err() != nil {
		if r.stopped && was == inRoutine {
			close(r.done) // Deregister waits for this
		}
		c.sched.mu.Unlock()
		return
	}
	if err == nil {
		r.fails = 0
		c.scheduleLocked(r, sent.Add(iv))
	} else {
		c.scheduleLocked(r, time.Now().Add(wait))
	}
	c.sched.mu.Unlock()
	if errors.Is(err, ErrClosed) {
		return
	}
	if c.cfg.OnBeat != nil {
		c.cfg.OnBeat(BeatEvent{Key: r.key, Due: due, Sent: sent, Done: time.Now(), Err: err})
	}
	if err != nil {
		c.log.Warn("heartbeat failed; retrying", "instance", r.key.IP+":"+strconv.Itoa(r.key.Port),
			"service", r.key.Name, "retry in", wait, "err", err)
	}
}

// reregister registers r again after a batched beat found it missing,
// from a goroutine of its own, unless r was deregistered meanwhile.
func (c *Client) reregister(r *registration, due, sent time.Time) {
	c.sched.mu.Lock()
	if r.stopped {
		c.sched.mu.Unlock()
		return
	}
	r.inflight = inRoutine
	c.sched.mu.Unlock()
	if !c.goIfOpen(func() {
		iv, err := c.registerAgain(r)
		c.beatDone(r, due, sent, iv, err)
	}) {
		c.beatDone(r, due, sent, 0, ErrClosed)
	}
}
