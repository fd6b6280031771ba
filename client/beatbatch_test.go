package client

import (
	"testing"
	"testing/synctest"
	"time"
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
