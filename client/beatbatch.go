package client

// Batched beats. A client that keeps many instances alive sends the light
// beats of those whose owner it knows in one PUT /v1/beats per owner
// rather than one request per instance: the scheduler (beatsched.go)
// queues each beat that comes due for its owner, and each owner's queue
// has at most one request in flight and sends at most one request per
// batch window (Config.BeatBatchWindow, 100 ms by default and at most a
// twentieth of the beat interval), sooner when api.MaxBatchBeats wait.
// The beats of every instance that came due within a window leave
// together, however their registrations were spread: a client of 10,000
// instances beating every 5 s sends about ten requests a second to each
// owner, not 2,000, at the price of a beat leaving up to one window late.
// A batch the owner does not answer goes whole to the other nodes, which
// hand its beats on; an owner that answered lately is waited for longer
// first (answered.go); a batch shed with 429 fails its beats, which are
// retried after the node's Retry-After; an owner without the endpoint (an
// older node) gets one beat per request from then on.

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
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

// beatWait is one queued beat: whose, when it was due and when it left
// the scheduler.
type beatWait struct {
	r         *registration
	due, sent time.Time
}

// enqueueBeat queues w for owner, starting the queue's sender if none
// runs; window is how long the queue gathers beats per request, timeout
// bounds each request. It reports false if the client has closed.
func (c *Client) enqueueBeat(owner *url.URL, w beatWait, window, timeout time.Duration) bool {
	b := &c.batches
	b.mu.Lock()
	if b.queues == nil {
		b.queues = map[string]*ownerQueue{}
	}
	q, ok := b.queues[owner.Host]
	if !ok || q.base.Scheme != owner.Scheme || q.base.Path != owner.Path {
		q = &ownerQueue{base: owner}
		b.queues[owner.Host] = q
	}
	q.pending = append(q.pending, w)
	start := !q.sending
	q.sending = true
	b.mu.Unlock()
	if start && !c.goIfOpen(func() { c.sendBatches(q, window, timeout) }) {
		b.mu.Lock()
		q.sending = false
		q.pending = nil
		b.mu.Unlock()
		return false
	}
	return true
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

// batchWindow returns how long an owner's queue gathers the beats of
// instances beating every interval: Config.BeatBatchWindow, at most a
// twentieth of the interval, at least 2 ms (so that the beats of
// instances registered together leave in one request, however their
// goroutines are scheduled).
func (c *Client) batchWindow(interval time.Duration) time.Duration {
	return max(min(c.cfg.BeatBatchWindow, interval/20), 2*time.Millisecond)
}

// sendBatches sends q's beats, one request per window at most, until none
// are waiting.
func (c *Client) sendBatches(q *ownerQueue, window, timeout time.Duration) {
	b := &c.batches
	t := time.NewTimer(window)
	defer t.Stop()
	for {
		b.mu.Lock()
		full := len(q.pending) >= api.MaxBatchBeats
		b.mu.Unlock()
		if !full {
			select {
			case <-t.C:
			case <-c.ctx.Done():
			}
		}
		b.mu.Lock()
		n := min(len(q.pending), api.MaxBatchBeats)
		if n == 0 || c.ctx.Err() != nil {
			q.sending = false
			q.pending = nil // the client closed: nothing beats any more
			b.mu.Unlock()
			return
		}
		batch := append([]beatWait(nil), q.pending[:n]...)
		q.pending = q.pending[n:]
		if len(q.pending) == 0 {
			q.pending = nil // let the array go
		}
		b.mu.Unlock()
		if !full {
			t.Reset(window) // the next request a window after this one
		}
		c.sendBatch(q.base, batch, timeout)
	}
}

// sendBatch sends one PUT /v1/beats and hands each beat its outcome. A
// batch the owner did not answer (down, or too slow) goes whole to the
// other nodes in turn, which hand its beats on to the owner or keep them:
// one request for the batch, not one per beat.
func (c *Client) sendBatch(base *url.URL, batch []beatWait, timeout time.Duration) {
	req := api.BeatsRequest{Beats: make([]api.Instance, len(batch))}
	for i, w := range batch {
		req.Beats[i] = wireKey(w.r.key)
	}
	breq := request{method: http.MethodPut, path: "/v1/beats", body: req, header: lateHeader(batch, time.Now())}
	ans, err := sendOnce(c.ctx, c.http, c.cfg.Token, c.beatTimeout(base, timeout), base, breq)
	c.answered.note(base, err, time.Now())
	var ae *APIError
	switch {
	case errors.As(err, &ae) && (ae.Status == http.StatusNotFound || ae.Status == http.StatusMethodNotAllowed):
		c.noBatch.Store(true)
		c.log.Info("a node has no batch beat endpoint; beating one instance per request", "node", base.String())
		for _, w := range batch {
			c.fire(w.r, w.due, w.sent) // singly now
		}
		return
	case err != nil && !shed(err) && retryable(c.ctx, err):
		c.log.Debug("beats to the owner failed; sending them through any node", "owner", base.String(), "err", err)
		c.kickMembers()
		ans, err = c.sendElsewhere(base, breq, timeout)
	}
	var reply api.BeatsReply
	if err == nil {
		if err = json.Unmarshal(ans.body, &reply); err == nil && len(reply.Results) != len(batch) {
			err = fmt.Errorf("client: %s answered %d results for %d beats", base, len(reply.Results), len(batch))
		}
	}
	for i, w := range batch {
		switch {
		case err != nil:
			c.beatDone(w.r, w.due, w.sent, 0, err)
		case reply.Results[i].Status == http.StatusNotFound:
			c.reregister(w.r, w.due, w.sent)
		case reply.Results[i].Status != 0:
			r := reply.Results[i]
			c.beatDone(w.r, w.due, w.sent, 0, &APIError{Node: base.String(), Status: r.Status, Message: r.Error})
		default:
			c.beatDone(w.r, w.due, w.sent, time.Duration(reply.Results[i].BeatIntervalMs)*time.Millisecond, nil)
		}
	}
}

// sendElsewhere sends req to each node other than skip in turn (the
// configured addresses, then the members learnt) until one answers, as a
// single attempt each: the beats' own retries do the rest.
func (c *Client) sendElsewhere(skip *url.URL, req request, timeout time.Duration) (answer, error) {
	var last error = errors.New("client: no other node to send beats to")
	for _, u := range c.targets() {
		if u.Host == skip.Host {
			continue
		}
		ans, err := sendOnce(c.ctx, c.http, c.cfg.Token, timeout, u, req)
		c.answered.note(u, err, time.Now())
		if err == nil || !retryable(c.ctx, err) {
			return ans, err
		}
		last = err
	}
	return answer{}, last
}

// lateHeader tells the owner how late the batch's oldest beat leaves
// (api.HeaderBeatsLate), when it is at least a millisecond late: beats
// waiting in the client for a busy owner are otherwise invisible to the
// owner's expiry brake.
func lateHeader(batch []beatWait, now time.Time) http.Header {
	var late time.Duration
	for _, w := range batch {
		late = max(late, now.Sub(w.due))
	}
	if late < time.Millisecond {
		return nil
	}
	ms := min(late.Milliseconds(), api.MaxBeatsLateMs)
	return http.Header{api.HeaderBeatsLate: []string{strconv.FormatInt(ms, 10)}}
}
