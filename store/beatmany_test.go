package store

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestStore_BeatMany: a batch of beats over more than one chunk does what
// the same beats one by one do: each live instance's deadline moves, an
// unhealthy one heals with a new version, missing and deregistered ones
// answer ErrNotFound, and the outcomes come back in order.
func TestStore_BeatMany(t *testing.T) {
	clk := newFakeClock()
	s := newTestStore(t, "n1", clk)
	var keys []BeatKey
	want := map[int]error{}
	for i := range beatManyChunk + 10 {
		in := inst(fmt.Sprintf("10.0.%d.%d", i/250, i%250), 80)
		if i == 3 || i == beatManyChunk+2 {
			in.Healthy = false
		}
		in = mustRegister(t, s, svcA, in)
		keys = append(keys, BeatKey{Service: svcA, Instance: in.InstanceKey})
	}
	gone := keys[7].Instance
	if _, err := s.Deregister(svcA, gone); err != nil {
		t.Fatal(err)
	}
	want[7] = ErrNotFound
	keys = append(keys, BeatKey{Service: svcB, Instance: ik("10.9.9.9", 1)})
	want[len(keys)-1] = ErrNotFound
	clk.Advance(time.Second)

	out := make([]BeatOutcome, len(keys))
	s.BeatMany(keys, out)
	for i, o := range out {
		if !errors.Is(o.Err, want[i]) || (want[i] == nil) != (o.Err == nil) {
			t.Fatalf("beat %d: error %v, want %v", i, o.Err, want[i])
		}
		if o.Err != nil {
			continue
		}
		if o.Result.Instance.InstanceKey != keys[i].Instance {
			t.Fatalf("beat %d: outcome for %v, want %v (out of order)", i, o.Result.Instance.InstanceKey, keys[i].Instance)
		}
		healed := i == 3 || i == beatManyChunk+2
		if o.Result.Changed != healed || !o.Result.Instance.Healthy {
			t.Errorf("beat %d: changed=%v healthy=%v, want changed=%v healthy", i, o.Result.Changed, o.Result.Instance.Healthy, healed)
		}
	}
	lb := s.LastBeats(svcA)
	if got := lb[keys[beatManyChunk+5].Instance]; !got.Equal(clk.Now()) {
		t.Errorf("last beat of an instance in the second chunk: %v, want %v", got, clk.Now())
	}
}
