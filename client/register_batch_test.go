package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/roster-io/roster/api"
)

// serveRegBatch answers POST /v1/instances/batch as a node does: a batch
// holding an invalid instance (service "bad") is refused whole with a
// 400 naming it; a service in full refuses its new instances one by one.
func (n *fakeNode) serveRegBatch(w http.ResponseWriter, r *http.Request, reply func(int, any)) {
	n.mu.Lock()
	n.regBatches++
	noBatch := n.noRegBatch
	n.mu.Unlock()
	if noBatch {
		http.NotFound(w, r)
		return
	}
	n.slowRegister(r)
	var req api.BatchRegisterRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Instances) < 1 || len(req.Instances) > api.MaxBatchInstances {
		reply(400, map[string]string{"error": "invalid instances"})
		return
	}
	seen := map[InstanceKey]bool{}
	for i, in := range req.Instances {
		if in.Service == "" || in.Service == "bad" || seen[instanceKeyOf(in)] {
			reply(400, map[string]string{"error": fmt.Sprintf("invalid instances[%d].service", i)})
			return
		}
		seen[instanceKeyOf(in)] = true
	}
	out := api.BatchRegisterReply{Results: make([]api.RegisterResult, len(req.Instances))}
	n.mu.Lock()
	for i, in := range req.Instances {
		if n.full[in.Service] {
			if _, ok := n.insts[instanceKeyOf(in)]; !ok {
				out.Results[i] = api.RegisterResult{Status: 409, Error: "limit reached"}
				continue
			}
		}
		if in.BeatIntervalMs == 0 {
			in.BeatIntervalMs = 5000
		}
		n.posts++
		n.insts[instanceKeyOf(in)] = in
		out.Results[i] = api.RegisterResult{Instance: &in}
	}
	n.changeLocked()
	n.mu.Unlock()
	reply(200, out)
}

// slowRegister waits regDelay, as a registration a peer must confirm,
// or until the request's context ends (counted in regCancelled).
func (n *fakeNode) slowRegister(r *http.Request) {
	n.mu.Lock()
	d := n.regDelay
	n.mu.Unlock()
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
		n.mu.Lock()
		n.regCancelled++
		n.mu.Unlock()
	}
}

// isFull reports whether a limit refuses in (a new instance of a full
// service).
func (n *fakeNode) isFull(in wireInstance) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	_, ok := n.insts[instanceKeyOf(in)]
	return n.full[in.Service] && !ok
}

// burst registers count instances of service svc concurrently through c
// and returns the errors by port.
func burst(t *testing.T, c *Client, svc string, count int) map[int]error {
	t.Helper()
	var mu sync.Mutex
	errs := map[int]error{}
	var wg sync.WaitGroup
	for i := range count {
		wg.Go(func() {
			k := InstanceKey{Service: Service{Name: svc}, IP: "10.0.0.1", Port: 9000 + i}
			in, err := c.Register(t.Context(), Registration{InstanceKey: k, BeatInterval: time.Minute})
			if err == nil && (in.Port != k.Port || in.Service != svc || in.BeatInterval != time.Minute) {
				err = fmt.Errorf("answered %+v", in)
			}
			mu.Lock()
			errs[k.Port] = err
			mu.Unlock()
		})
	}
	wg.Wait()
	return errs
}

// requests returns the registration requests n served: single and batch.
func requests(n *fakeNode) (singles, batches int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.regSingles, n.regBatches
}

// TestClient_registrationsCoalesce: 300 concurrent Registers, while each
// request takes 20 ms, leave in a handful of requests (the first alone,
// the rest in batches of at most maxRegBatch), each caller getting its
// own instance; a lone Register afterwards goes at once as a single
// request, taking no longer than the request itself.
func TestClient_registrationsCoalesce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fn := newFakeNet("a")
		n := fn.node("a")
		n.regDelay = 20 * time.Millisecond
		c := fn.client(t, func(c *Config) { c.DisableRing = true }, "a")
		defer closeClient(t, c)
		for port, err := range burst(t, c, "orders", 300) {
			if err != nil {
				t.Fatalf("Register port %d: %v", port, err)
			}
		}
		singles, batches := requests(n)
		if got := len(c.Registered()); got != 300 || !n.has(InstanceKey{Service: Service{Name: "orders"}, IP: "10.0.0.1", Port: 9299}) {
			t.Fatalf("%d registrations kept, want 300", got)
		}
		if singles+batches > 4 || batches < 2 {
			t.Fatalf("300 concurrent registrations took %d single and %d batch requests; want 1 single and 2 batches (at most %d each)", singles, batches, maxRegBatch)
		}
		start := time.Now()
		if _, err := c.Register(t.Context(), Registration{InstanceKey: orders}); err != nil {
			t.Fatalf("lone Register: %v", err)
		}
		if d := time.Since(start); d != n.regDelay {
			t.Fatalf("a lone Register took %v; want the request's own %v", d, n.regDelay)
		}
		if s, b := requests(n); s != singles+1 || b != batches {
			t.Fatalf("the lone Register took %d single and %d batch requests, want 1 and 0", s-singles, b-batches)
		}
	})
}

// TestClient_registrationBatchFallbacks: a batch holding one bad instance
// is refused whole by the node, so each instance goes again on its own
// and only the bad one fails; a limit fails only the instances it
// refuses; a node without the batch endpoint gets single requests, from
// then on without trying batches again.
func TestClient_registrationBatchFallbacks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fn := newFakeNet("a")
		n := fn.node("a")
		n.regDelay = 10 * time.Millisecond
		n.full = map[string]bool{"full": true}
		c := fn.client(t, func(c *Config) { c.DisableRing = true }, "a")
		defer closeClient(t, c)
		var wg sync.WaitGroup
		var badErr, fullErr error
		wg.Go(func() { burst(t, c, "ok", 40) })
		wg.Go(func() {
			time.Sleep(time.Millisecond) // behind the first request
			_, badErr = c.Register(t.Context(), Registration{InstanceKey: InstanceKey{Service: Service{Name: "bad"}, IP: "10.0.0.2", Port: 1}})
		})
		wg.Go(func() {
			time.Sleep(time.Millisecond)
			_, fullErr = c.Register(t.Context(), Registration{InstanceKey: InstanceKey{Service: Service{Name: "full"}, IP: "10.0.0.2", Port: 1}})
		})
		wg.Wait()
		var ae *APIError
		if !errors.As(badErr, &ae) || ae.Status != 400 {
			t.Errorf("the bad instance: %v, want its own 400", badErr)
		}
		if !errors.As(fullErr, &ae) || ae.Status != 409 {
			t.Errorf("the instance past the limit: %v, want 409", fullErr)
		}
		if got := len(c.Registered()); got != 40 {
			t.Errorf("%d registrations kept, want the 40 good ones", got)
		}

		n.mu.Lock()
		n.noRegBatch = true
		n.mu.Unlock()
		for port, err := range burst(t, c, "older", 20) {
			if err != nil {
				t.Fatalf("Register port %d against a node without batches: %v", port, err)
			}
		}
		if !c.noRegBatch.Load() {
			t.Fatal("the client did not notice the node has no batch endpoint")
		}
		_, before := requests(n)
		burst(t, c, "later", 20)
		if _, after := requests(n); after != before || len(c.Registered()) != 80 {
			t.Fatalf("after a 404 the client still sent %d batches; %d registrations kept, want 80", after-before, len(c.Registered()))
		}
	})
}

// TestClient_registrationBatchEndsWhenEveryCallerGaveUp: a batch request
// that hangs ends once every caller waiting for it has given up, and each
// of them gets its context's error; a caller still waiting keeps it going.
func TestClient_registrationBatchEndsWhenEveryCallerGaveUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fn := newFakeNet("a")
		n := fn.node("a")
		n.regDelay = time.Hour
		c := fn.client(t, func(c *Config) { c.DisableRing = true; c.RequestTimeout = 2 * time.Hour }, "a")
		defer closeClient(t, c)
		errs := make(chan error, 3)
		reg := func(port int, within time.Duration) {
			ctx, cancel := context.WithTimeout(t.Context(), within)
			defer cancel()
			_, err := c.Register(ctx, Registration{InstanceKey: InstanceKey{Service: Service{Name: "hung"}, IP: "10.0.0.3", Port: port}})
			errs <- err
		}
		go reg(1, time.Minute) // the lone request
		synctest.Wait()
		go reg(2, 2*time.Minute) // these two wait, then leave as a batch after a minute
		go reg(3, 3*time.Minute)
		start := time.Now()
		for range 3 {
			if err := <-errs; !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Register: %v, want the caller's deadline", err)
			}
		}
		if d := time.Since(start); d != 3*time.Minute {
			t.Fatalf("the callers returned after %v, want the last deadline, 3m", d)
		}
		synctest.Wait()
		n.mu.Lock()
		cancelled, singles, batches := n.regCancelled, n.regSingles, n.regBatches
		n.mu.Unlock()
		if singles != 1 || batches != 1 || cancelled != 2 {
			t.Fatalf("%d single and %d batch requests, %d of them ended early; want 1, 1 and both", singles, batches, cancelled)
		}
		c.regBatch.mu.Lock()
		sending, pending := c.regBatch.sending, len(c.regBatch.pending)
		c.regBatch.mu.Unlock()
		if sending || pending > 0 {
			t.Fatalf("sending %v with %d waiting after every caller gave up", sending, pending)
		}
	})
}
