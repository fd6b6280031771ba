package client

// Coalesced registrations. Register calls made while another registration
// request of this client is in flight wait and leave together in one
// POST /v1/instances/batch, as soon as that request is answered: a lone
// call goes at once as its own POST /v1/instance (nothing waits for a
// window), and a burst of N concurrent calls costs a few requests rather
// than N. A batch carries at most maxRegBatch instances and about
// maxRegBatchBytes of JSON, and never the same instance twice (a second
// registration of an instance waits for the next batch, so the two stay
// in order). The node answers each instance on its own; a limit refuses
// one item, not the batch.
//
// A batch the node refuses whole for one of its items (a 4xx naming
// instances[i], or 413) goes again one instance per request, so that each
// caller gets its own instance's answer. A node without the endpoint (an
// older node: 404 or 405) gets one instance per request from then on.
// Failover, retries and backoff are those of a single request; the batch
// ends early only when every caller waiting for it has given up.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/roster-io/roster/api"
)

const (
	// maxRegBatch bounds the instances of one batch request.
	maxRegBatch = 256
	// maxRegBatchBytes bounds the estimated JSON of one batch request,
	// well under a node's default --max-body of 1 MiB.
	maxRegBatchBytes = 256 << 10
)

// regBatches gathers the registrations waiting behind the one in flight.
type regBatches struct {
	// mu guards sending and pending.
	mu      sync.Mutex
	sending bool // a registration request is in flight, or a sender runs
	pending []*regWait
}

// regWait is one Register call waiting for a batch.
type regWait struct {
	ctx  context.Context // the caller's
	w    wireInstance
	size int             // estimated bytes of w's JSON
	key  InstanceKey     // normalized
	done chan regOutcome // buffered: the sender never blocks
}

// regOutcome is what became of one waiting registration: the stored
// instance, an error, or (single) "send it yourself, on its own".
type regOutcome struct {
	in     Instance
	err    error
	single bool
}

// errNoRegBatch marks a node without POST /v1/instances/batch.
var errNoRegBatch = errors.New("client: the node has no batch registration endpoint")

// register posts w, coalesced with the registrations of this client made
// meanwhile.
func (c *Client) register(ctx context.Context, w wireInstance) (Instance, error) {
	if c.noRegBatch.Load() {
		return c.post(ctx, w)
	}
	b := &c.regBatch
	b.mu.Lock()
	if !b.sending {
		b.sending = true
		b.mu.Unlock()
		in, err := c.post(ctx, w)
		c.handOffRegs()
		return in, err
	}
	rw := &regWait{ctx: ctx, w: w, size: wireSize(&w), done: make(chan regOutcome, 1), key: instanceKeyOfWire(w)}
	b.pending = append(b.pending, rw)
	b.mu.Unlock()
	select {
	case o := <-rw.done:
		if o.single {
			return c.post(ctx, w)
		}
		return o.in, o.err
	case <-ctx.Done():
		return Instance{}, fmt.Errorf("client: register %s:%d in %s: %w", w.IP, w.Port, w.Service, ctx.Err())
	}
}

// handOffRegs is called when the request in flight was answered: the
// registrations that gathered meanwhile leave, from a sender goroutine.
func (c *Client) handOffRegs() {
	b := &c.regBatch
	b.mu.Lock()
	if len(b.pending) == 0 {
		b.sending = false
		b.mu.Unlock()
		return
	}
	b.mu.Unlock()
	if !c.goIfOpen(c.sendRegBatches) {
		b.mu.Lock()
		waiting := b.pending
		b.pending, b.sending = nil, false
		b.mu.Unlock()
		for _, rw := range waiting {
			rw.done <- regOutcome{err: ErrClosed}
		}
	}
}

// sendRegBatches sends what waits, one request at a time, until nothing
// does.
func (c *Client) sendRegBatches() {
	for {
		batch := c.takeRegBatch()
		if len(batch) == 0 {
			return
		}
		c.sendRegBatch(batch)
	}
}

// takeRegBatch takes the next batch off the queue, leaving out the calls
// that gave up, and clears sending when nothing is left.
func (c *Client) takeRegBatch() []*regWait {
	b := &c.regBatch
	b.mu.Lock()
	defer b.mu.Unlock()
	var batch, rest []*regWait
	seen := map[InstanceKey]bool{}
	size := 0
	for _, rw := range b.pending {
		switch {
		case rw.ctx.Err() != nil:
			continue // its caller returned already
		case len(batch) >= maxRegBatch, seen[rw.key], len(batch) > 0 && size+rw.size > maxRegBatchBytes:
			rest = append(rest, rw)
			continue
		}
		seen[rw.key] = true
		size += rw.size
		batch = append(batch, rw)
	}
	b.pending = rest
	if len(batch) == 0 {
		b.sending = false
	}
	return batch
}

// sendRegBatch sends one batch (a lone registration as a single request)
// and hands every caller its outcome.
func (c *Client) sendRegBatch(batch []*regWait) {
	ctx, cancel := c.whileWaited(batch)
	defer cancel()
	if len(batch) == 1 {
		in, err := c.post(ctx, batch[0].w)
		batch[0].done <- regOutcome{in: in, err: err}
		return
	}
	req := api.BatchRegisterRequest{Instances: make([]api.Instance, len(batch))}
	for i, rw := range batch {
		req.Instances[i] = rw.w
	}
	ans, err := c.send(ctx, request{method: http.MethodPost, path: "/v1/instances/batch", body: req})
	var reply api.BatchRegisterReply
	if err == nil {
		if err = json.Unmarshal(ans.body, &reply); err == nil && len(reply.Results) != len(batch) {
			err = fmt.Errorf("client: a node answered %d results for %d registrations", len(reply.Results), len(batch))
		}
	}
	var ae *APIError
	switch {
	case errors.As(err, &ae) && (ae.Status == http.StatusNotFound || ae.Status == http.StatusMethodNotAllowed):
		c.noRegBatch.Store(true)
		c.log.Info("a node has no batch registration endpoint; registering one instance per request", "node", ae.Node)
		fallthrough
	case errors.As(err, &ae) && ae.Status >= 400 && ae.Status < 500 && ae.Status != http.StatusTooManyRequests:
		// Refused whole, for one item or for its size: each caller
		// sends its own and gets its own answer.
		for _, rw := range batch {
			rw.done <- regOutcome{single: true}
		}
		return
	}
	node := c.answeredBy()
	for i, rw := range batch {
		w := rw.w
		switch r := reply.Results; {
		case err != nil:
			rw.done <- regOutcome{err: fmt.Errorf("client: register %s:%d in %s: %w", w.IP, w.Port, w.Service, err)}
		case r[i].Status != 0 || r[i].Instance == nil:
			ie := &APIError{Node: node, Status: r[i].Status, Message: r[i].Error}
			if ie.Status == 0 {
				ie.Status, ie.Message = http.StatusBadGateway, "the node's result holds no instance"
			}
			rw.done <- regOutcome{err: fmt.Errorf("client: register %s:%d in %s: %w", w.IP, w.Port, w.Service, ie)}
		default:
			rw.done <- regOutcome{in: fromWire(*r[i].Instance)}
		}
	}
}

// whileWaited returns a context of the client that ends once every
// caller of batch has given up (or the client closes).
func (c *Client) whileWaited(batch []*regWait) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(c.ctx)
	var left atomic.Int64
	left.Store(int64(len(batch)))
	stops := make([]func() bool, len(batch))
	for i, rw := range batch {
		stops[i] = context.AfterFunc(rw.ctx, func() {
			if left.Add(-1) == 0 {
				cancel()
			}
		})
	}
	return ctx, func() {
		for _, stop := range stops {
			stop()
		}
		cancel()
	}
}

// answeredBy returns the node that answered the last request.
func (c *Client) answeredBy() string {
	ts := c.targets()
	if i := int(c.preferred.Load()); i < len(ts) {
		return ts[i].String()
	}
	return ""
}

// wireSize estimates the bytes of w's JSON.
func wireSize(w *wireInstance) int {
	n := 256 + len(w.Namespace) + len(w.Group) + len(w.Service) + len(w.Cluster) + len(w.IP)
	for k, v := range w.Metadata {
		n += len(k) + len(v) + 6
	}
	return n
}

// instanceKeyOfWire returns the normalized key w names.
func instanceKeyOfWire(w wireInstance) InstanceKey {
	return InstanceKey{Service: Service{Namespace: w.Namespace, Group: w.Group, Name: w.Service},
		Cluster: w.Cluster, IP: w.IP, Port: w.Port}.normal()
}
