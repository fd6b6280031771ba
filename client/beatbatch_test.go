package client

import (
	"fmt"
	"net/http"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/roster-io/roster/api"
)

// batchRun registers 50 instances (1 s beats) on a one-node cluster whose
// ring the client reads, runs 3 s and returns the beats the node counted
// the batch requests it served and the registrations it got.
func batchRun(t *testing.T, noBatch bool) (beats, batches, posts int) {
	fn := newFakeNet("n1:1")
	fn.setRing(1, 7, 0, "n1:1")
	n := fn.node("n1:1")
	n.mu.Lock()
	n.noBatch = noBatch
	n.mu.Unlock()
	c := fn.client(t, nil, "n1:1")
	defer closeClient(t, c)
	for i := range 50 {
		k := orders
		k.Port = 8000 + i
		if _, err := c.Register(t.Context(), Registration{InstanceKey: k, BeatInterval: time.Second}); err != nil {
			t.Fatalf("Register: %v", err)
		}
	}
	time.Sleep(3*time.Second + 60*time.Millisecond) // the third wave leaves after the 50 ms window
	synctest.Wait()
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.beats, n.batches, n.posts
}

// TestClient_batchesBeatsPerOwner: the beats of the 50 instances a client
// keeps alive reach their owner in about one request per interval, not
// 50 (the sender's window gathers a wave however goroutines are scheduled); a node without the batch endpoint gets every beat one per request,
// and no instance is registered again for it.
func TestClient_batchesBeatsPerOwner(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		beats, batches, _ := batchRun(t, false)
		if beats != 150 {
			t.Errorf("beats in 3 s: got %d, want 150 (50 instances, 1 s)", beats)
		}
		if batches < 3 || batches > 9 {
			t.Errorf("batch requests in 3 s: got %d, want about one per wave of 50 beats (3 to 9)", batches)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		beats, batches, posts := batchRun(t, true)
		if beats < 145 || batches != 0 || posts != 50 {
			t.Errorf("without the endpoint: %d beats (want about 150), %d batches (want 0), %d registrations (want 50)", beats, batches, posts)
		}
	})
}

// TestClient_shedBatchWaitsForRetryAfter: a batch the owner sheds (429,
// Retry-After: 1) is retried as a batch once the second has passed, not
// at once, not one beat per request and not through another node.
func TestClient_shedBatchWaitsForRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hosts := []string{"n1:1", "n2:1"}
		fn := newFakeNet(hosts...)
		fn.setRing(1, 7, 0, hosts...)
		owner := ringOwner(orders, 7, 0, hosts...)
		other := hosts[0]
		if other == owner {
			other = hosts[1]
		}
		c := fn.client(t, nil, owner)
		defer closeClient(t, c)
		start := time.Now()
		for i := range 50 {
			k := orders
			k.Port = 8000 + i
			if _, err := c.Register(t.Context(), Registration{InstanceKey: k, BeatInterval: 5 * time.Second}); err != nil {
				t.Fatalf("Register: %v", err)
			}
		}
		o := fn.node(owner)
		o.mu.Lock()
		o.shed = 1 // the first wave's batch
		o.mu.Unlock()
		time.Sleep(5*time.Second + 900*time.Millisecond) // the wave at 5.1 s was shed
		synctest.Wait()
		if beats, _, _ := o.counts(); beats != 0 {
			t.Fatalf("beats applied within 0.8 s of the shed: %d, want 0 (Retry-After: 1)", beats)
		}
		time.Sleep(time.Second) // retried between 6.1 and 6.7 s
		synctest.Wait()
		o.mu.Lock()
		beats, batches, singles, first := o.beats, o.batches, o.singles, o.beatLog[0]
		o.mu.Unlock()
		if beats != 50 || singles != 0 || batches > 5 {
			t.Errorf("after the retry: %d beats in %d batches and %d single requests, want 50 in a few batches and none single", beats, batches, singles)
		}
		if d := first.Sub(start); d < 6*time.Second {
			t.Errorf("first retry %v after the start, want at least 1 s after the shed wave (6 s)", d)
		}
		if b, _, _ := fn.node(other).counts(); b != 0 {
			t.Errorf("the other node got %d beats, want 0: a shed beat waits for its owner", b)
		}
	})
}

// TestClient_heldInstancesCostNoGoroutines: the instances a client keeps
// alive are beaten by one scheduler, not a goroutine each.
func TestClient_heldInstancesCostNoGoroutines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fn := newFakeNet("n1:1")
		fn.setRing(1, 7, 0, "n1:1")
		c := fn.client(t, nil, "n1:1")
		defer closeClient(t, c)
		before := runtime.NumGoroutine()
		for i := range 2000 {
			k := orders
			k.IP, k.Port = fmt.Sprintf("10.1.%d.%d", i/200, i%200), 8000
			if _, err := c.Register(t.Context(), Registration{InstanceKey: k, BeatInterval: time.Second}); err != nil {
				t.Fatalf("Register: %v", err)
			}
		}
		time.Sleep(2*time.Second + 100*time.Millisecond)
		synctest.Wait()
		if got := runtime.NumGoroutine() - before; got > 50 {
			t.Errorf("2,000 held instances added %d goroutines, want a few (one scheduler, a sender per owner)", got)
		}
		if beats, _, _ := fn.node("n1:1").counts(); beats < 4000 {
			t.Errorf("beats in 2 s: %d, want 4,000 (2,000 instances, 1 s)", beats)
		}
	})
}

// slowBeats waits beatWait, as an owner busy with other work, and reports
// whether the caller still waits for the answer.
func (n *fakeNode) slowBeats(r *http.Request) bool {
	n.mu.Lock()
	d := n.beatWait
	n.mu.Unlock()
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// ownerAndOther starts, in the caller's bubble, a client of a two-node
// cluster that keeps 20 instances of orders alive (1 s beats), and
// returns their owner and the other node.
func ownerAndOther(t *testing.T) (owner, other *fakeNode) {
	hosts := []string{"n1:1", "n2:1"}
	fn := newFakeNet(hosts...)
	fn.setRing(1, 7, 0, hosts...)
	o := ringOwner(orders, 7, 0, hosts...)
	x := hosts[0]
	if x == o {
		x = hosts[1]
	}
	c := fn.client(t, nil, o, x)
	t.Cleanup(func() { closeClient(t, c) })
	for i := range 20 {
		k := orders
		k.Port = 8000 + i
		if _, err := c.Register(t.Context(), Registration{InstanceKey: k, BeatInterval: time.Second}); err != nil {
			t.Fatalf("Register: %v", err)
		}
	}
	return fn.node(o), fn.node(x)
}

// TestClient_slowOwnerIsWaitedFor: an owner that answers every batch, but
// later than the usual batch timeout (0.7 s against half the 1 s
// interval), gets every beat and waits for none of them through another
// node: beats sent elsewhere would be handed back to the same busy owner,
// and those it could not take in time would stay on a node that does not
// time the instances out.
func TestClient_slowOwnerIsWaitedFor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o, on := ownerAndOther(t)
		o.mu.Lock()
		o.beatWait = 700 * time.Millisecond
		o.mu.Unlock()
		time.Sleep(5 * time.Second)
		synctest.Wait()
		on.mu.Lock()
		sent := on.batches + on.singles
		on.mu.Unlock()
		if sent != 0 {
			t.Errorf("the other node got %d beat requests while the owner answered every one in 0.7 s", sent)
		}
		if beats, _, _ := o.counts(); beats < 60 {
			t.Errorf("the slow owner applied %d beats in 5 s, want at least 60 (20 instances, a beat every interval plus its wait)", beats)
		}
	})
}

// TestClient_hungOwnerIsLeft: an owner that answered and then stops
// answering (hung, or gone without a reset) is waited for at most two
// intervals per batch; the beats then go through the other node.
func TestClient_hungOwnerIsLeft(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o, on := ownerAndOther(t)
		time.Sleep(1500 * time.Millisecond) // one wave answered
		synctest.Wait()
		o.mu.Lock()
		o.beatWait = time.Hour
		o.mu.Unlock()
		time.Sleep(4 * time.Second)
		synctest.Wait()
		on.mu.Lock()
		sent := on.batches + on.singles
		on.mu.Unlock()
		if sent == 0 {
			t.Error("no beat went through the other node within 4 s of the owner hanging")
		}
	})
}

// TestClient_firstBeatCountsFromTheRegistration: a registration answered
// late (a busy node waiting for a peer to confirm it) still gets its first
// beat one interval after it was sent, since the node started the
// instance's timeout when it stored it, not when it answered.
func TestClient_firstBeatCountsFromTheRegistration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fn := newFakeNet("n1:1")
		fn.setRing(1, 7, 0, "n1:1")
		n := fn.node("n1:1")
		n.mu.Lock()
		n.regDelay = 900 * time.Millisecond
		n.mu.Unlock()
		c := fn.client(t, nil, "n1:1")
		defer closeClient(t, c)
		start := time.Now()
		if _, err := c.Register(t.Context(), Registration{InstanceKey: orders, BeatInterval: time.Second}); err != nil {
			t.Fatalf("Register: %v", err)
		}
		time.Sleep(1500*time.Millisecond - time.Since(start))
		synctest.Wait()
		n.mu.Lock()
		defer n.mu.Unlock()
		if len(n.beatLog) == 0 {
			t.Fatal("no beat 1.5 s after a registration sent with a 1 s interval and answered after 0.9 s")
		}
		if d := n.beatLog[0].Sub(start); d > 1200*time.Millisecond {
			t.Errorf("first beat %v after the registration was sent, want about one interval (1 s)", d)
		}
	})
}

// TestLateHeader_namesTheOldestBeatsLateness: a batch tells the owner
// how late its oldest beat leaves, in whole milliseconds, and says
// nothing when every beat leaves on time.
func TestLateHeader_namesTheOldestBeatsLateness(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	batch := []beatWait{{due: now.Add(-300 * time.Millisecond)}, {due: now.Add(-2500 * time.Millisecond)}, {due: now}}
	if got := lateHeader(batch, now).Get(api.HeaderBeatsLate); got != "2500" {
		t.Errorf("%s = %q, want 2500", api.HeaderBeatsLate, got)
	}
	if h := lateHeader(batch[2:], now); h != nil {
		t.Errorf("a batch on time sent %v", h)
	}
}
