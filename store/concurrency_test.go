package store

import (
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"
)

// TestStore_concurrentUse runs writers, beaters, sweepers, mergers and
// lock-free readers at once; run it with -race. Afterwards every published
// view must agree with the records.
func TestStore_concurrentUse(t *testing.T) {
	seed := testSeed(t)
	clk := newFakeClock()
	s := newTestStore(t, "n1", clk)
	peer := newTestStore(t, "n2", newFakeClock())
	keys := []Key{svcA, svcB, svcC}
	const ops = 400

	var writers, readers sync.WaitGroup
	stop := make(chan struct{})
	stopped := func() bool {
		select {
		case <-stop:
			return true
		default:
			return false
		}
	}
	fail := make(chan error, 64)
	report := func(err error) {
		select {
		case fail <- err:
		default:
		}
	}
	for w := range 4 {
		writers.Go(func() {
			rng := newRand(seed + uint64(w))
			for range ops {
				k := keys[rng.IntN(len(keys))]
				in := inst("10.0.0."+strconv.Itoa(rng.IntN(8)), 80)
				in.BeatTimeout, in.DeleteTimeout = 50*time.Millisecond, 100*time.Millisecond
				var err error
				switch rng.IntN(6) {
				case 0, 1:
					_, err = s.Register(k, in)
				case 2:
					_, err = s.Update(k, in.InstanceKey, func(in *Instance) { in.Weight++; in.Metadata["w"] = "x" })
				case 3:
					_, err = s.Deregister(k, in.InstanceKey)
				case 4:
					_, err = s.UpdateService(k, func(i *ServiceInfo) { i.ProtectThreshold = 0.5 })
				default:
					in.Version = Version{Clock: clk.Now().UnixNano() + rng.Int64N(int64(time.Second)), Node: "n9"}
					s.Merge(k, in.withDefaults())
				}
				if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrServiceNotFound) {
					report(err)
				}
			}
		})
	}
	for b := range 2 {
		writers.Go(func() {
			rng := newRand(seed + 100 + uint64(b))
			for range ops {
				k := keys[rng.IntN(len(keys))]
				if _, err := s.Beat(k, ik("10.0.0."+strconv.Itoa(rng.IntN(8)), 80)); err != nil && !errors.Is(err, ErrNotFound) {
					report(err)
				}
			}
		})
	}
	writers.Go(func() { // sweeper, reaper and its fake time
		for range ops / 2 {
			clk.Advance(10 * time.Millisecond)
			s.Sweep(func(k Key) bool { return k != svcC })
			s.NextDeadline()
			s.Refresh(svcC)
			s.Reap()
		}
	})
	writers.Go(func() { // anti-entropy from a peer
		rng := newRand(seed + 200)
		for i := range ops / 4 {
			mustRegister(t, peer, keys[i%len(keys)], inst("10.0.1."+strconv.Itoa(rng.IntN(4)), 80))
			for _, r := range peer.Records() {
				mergeRecord(s, r)
			}
		}
	})
	for range 4 {
		readers.Go(func() {
			for !stopped() {
				for _, k := range keys {
					snap := s.Snapshot(k)
					for i, in := range snap.Instances {
						if i > 0 && compareInstanceKeys(snap.Instances[i-1].InstanceKey, in.InstanceKey) >= 0 {
							report(errors.New("snapshot instances out of order"))
						}
						_ = in.Metadata["w"]
					}
					snap.Find(ik("10.0.0.1", 80))
					snap.Cached("k", func() []byte { return []byte(strconv.Itoa(len(snap.Instances))) })
					select {
					case <-snap.Changed():
					default:
					}
				}
				s.Services(DefaultNamespace, "")
				s.Index()
				s.Len()
			}
		})
	}
	readers.Go(func() { // a blocking watcher
		idx := uint64(0)
		for !stopped() {
			snap := s.Snapshot(svcA)
			if snap.Index < idx {
				report(errors.New("snapshot index went backwards"))
			}
			idx = snap.Index
			select {
			case <-snap.Changed():
			case <-stop:
			}
		}
	})
	readers.Go(func() {
		for !stopped() {
			s.Records()
			select {
			case <-s.Wake():
			default:
			}
		}
	})

	writers.Wait()
	close(stop)
	readers.Wait()
	close(fail)
	for err := range fail {
		t.Error(err)
	}
	checkSnapshots(t, s)
}
