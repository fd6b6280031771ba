package client

// Batched beats. A client that keeps many instances alive sends the light
// beats of those whose owner it knows in one PUT /v1/beats per owner
// rather than one request per instance: each owner has a queue with at
// most one request in flight, and the beats that come due meanwhile leave
// together in the next (up to api.MaxBatchBeats). Instances registered
// together beat together, so a client of 1,000 instances sends about one
// request per owner per interval (a few when they come due at different
// moments; a queue's sender lingers 2 ms before its first request to
// gather them). A batch that fails as a whole fails each of its beats, which
// then go one per request: to any node when the owner is down, and to the
// owner when it is an older node without the endpoint (remembered).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/roster-io/roster/api"
)

// errNoBatch fails the beats of a batch the owner did not understand (a
// node without PUT /v1/beats answers 404 or 405 for the whole request);
// the client then beats one instance per request, as before.
var errNoBatch = errors.New("client: the node has no batch beat endpoint")

// beatBatches holds one queue per owner. It is safe for concurrent use.
type beatBatches struct {
	// mu guards queues and the queues' fields.
	mu     sync.Mutex
	queues map[string]*ownerQueue
}

// ownerQueue is the beats waiting for one owner.
type ownerQueue struct {
	base    *url.URL
	pending []beatWait
	sending bool // a sender goroutine runs
}

// beatWait is one queued beat and where its outcome goes.
type beatWait struct {
	key  InstanceKey
	done chan beatOutcome // buffered: the sender never blocks on it
}

// beatOutcome is the owner's answer to one beat.
type beatOutcome struct {
	interval time.Duration
	err      error
}

// batchBeat beats key through owner's batch queue and waits for the
// answer or ctx.
func (c *Client) batchBeat(ctx context.Context, owner *url.URL, key InstanceKey) (time.Duration, error) {
	w := beatWait{key: key, done: make(chan beatOutcome, 1)}
	b := &c.batches
	b.mu.Lock()
	if b.queues == nil {
		b.queues = map[string]*ownerQueue{}
	}
	q, ok := b.queues[owner.String()]
	if !ok {
		q = &ownerQueue{base: owner}
		b.queues[owner.String()] = q
	}
	q.pending = append(q.pending, w)
	start := !q.sending
	q.sending = true
	b.mu.Unlock()
	if start && !c.goIfOpen(func() { c.sendBatches(q) }) {
		return 0, ErrClosed // the queued beat is dropped with the client
	}
	select {
	case o := <-w.done:
		return o.interval, o.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// goIfOpen starts fn as a goroutine owned by c unless c is closed.
func (c *Client) goIfOpen(fn func()) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.goLocked(fn)
	return true
}

// batchLinger is how long a queue's sender waits before its first
// request, so the beats that come due at the same moment (instances
// registered together) leave in one request instead of the first alone.
const batchLinger = 2 * time.Millisecond

// sendBatches sends q's beats until none are waiting.
func (c *Client) sendBatches(q *ownerQueue) {
	b := &c.batches
	t := time.NewTimer(batchLinger)
	select {
	case <-t.C:
	case <-c.ctx.Done():
		t.Stop()
	}
	for {
		b.mu.Lock()
		n := min(len(q.pending), api.MaxBatchBeats)
		if n == 0 || c.ctx.Err() != nil {
			q.sending = false
			for _, w := range q.pending {
				w.done <- beatOutcome{err: ErrClosed}
			}
			q.pending = nil
			b.mu.Unlock()
			return
		}
		batch := append([]beatWait(nil), q.pending[:n]...)
		q.pending = q.pending[n:]
		b.mu.Unlock()
		c.sendBatch(q.base, batch)
	}
}

// sendBatch sends one PUT /v1/beats and hands each beat its outcome.
func (c *Client) sendBatch(base *url.URL, batch []beatWait) {
	req := api.BeatsRequest{Beats: make([]api.Instance, len(batch))}
	for i, w := range batch {
		req.Beats[i] = wireKey(w.key)
	}
	ans, err := c.sendTo(c.ctx, base, request{method: http.MethodPut, path: "/v1/beats", body: req})
	var ae *APIError
	if errors.As(err, &ae) && (ae.Status == http.StatusNotFound || ae.Status == http.StatusMethodNotAllowed) {
		c.noBatch.Store(true)
		c.log.Info("a node has no batch beat endpoint; beating one instance per request", "node", base.String())
		err = errNoBatch
	}
	var reply api.BeatsReply
	if err == nil {
		if err = json.Unmarshal(ans.body, &reply); err == nil && len(reply.Results) != len(batch) {
			err = fmt.Errorf("client: %s answered %d results for %d beats", base, len(reply.Results), len(batch))
		}
	}
	for i, w := range batch {
		if err != nil {
			w.done <- beatOutcome{err: err}
			continue
		}
		r := reply.Results[i]
		if r.Status != 0 {
			w.done <- beatOutcome{err: &APIError{Node: base.String(), Status: r.Status, Message: r.Error}}
			continue
		}
		w.done <- beatOutcome{interval: time.Duration(r.BeatIntervalMs) * time.Millisecond}
	}
}
