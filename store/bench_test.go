package store

import (
	"strconv"
	"testing"
	"time"
)

// benchKey returns the key of service i.
func benchKey(i int) Key {
	return Key{Namespace: DefaultNamespace, Group: DefaultGroup, Service: "svc" + strconv.Itoa(i)}
}

// benchIP returns a distinct ip for i.
func benchIP(i int) string {
	return "10." + strconv.Itoa(i>>16&255) + "." + strconv.Itoa(i>>8&255) + "." + strconv.Itoa(i&255)
}

// benchKeys returns the keys of services services and n instance keys,
// so benchmarks do not measure building them.
func benchKeys(services, n int) ([]Key, []InstanceKey) {
	keys := make([]Key, services)
	for i := range keys {
		keys[i] = benchKey(i)
	}
	iks := make([]InstanceKey, n)
	for i := range iks {
		iks[i] = ik(benchIP(i), 8080)
	}
	return keys, iks
}

// fillStore registers services*perService instances and returns the store.
func fillStore(b *testing.B, clk *fakeClock, services, perService int) *Store {
	b.Helper()
	s := newTestStore(b, "n1", clk)
	for i := range services * perService {
		mustRegister(b, s, benchKey(i%services), inst(benchIP(i), 8080))
	}
	return s
}

func BenchmarkRegister(b *testing.B) {
	cases := []struct {
		name                 string
		services, perService int
	}{
		{"100svc_x_100", 100, 100},
		{"1svc_x_10000", 1, 10_000}, // a write copies the service's instance slice
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			s := fillStore(b, newFakeClock(), c.services, c.perService)
			n := c.services * c.perService
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				j := i % n
				if _, err := s.Register(benchKey(j%c.services), inst(benchIP(j), 8080)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkBeat(b *testing.B) {
	const services, perService = 100, 100
	s := fillStore(b, newFakeClock(), services, perService)
	keys, iks := benchKeys(services, services*perService)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		rng := newRand(uint64(time.Now().UnixNano()))
		for pb.Next() {
			j := rng.IntN(len(iks))
			if _, err := s.Beat(keys[j%services], iks[j]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkSnapshotRead(b *testing.B) {
	const services, perService = 100, 100
	s := fillStore(b, newFakeClock(), services, perService)
	keys, iks := benchKeys(services, services*perService)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		rng := newRand(uint64(time.Now().UnixNano()))
		for pb.Next() {
			j := rng.IntN(len(iks))
			snap := s.Snapshot(keys[j%services])
			body := snap.Cached("json", func() []byte { return make([]byte, 64*len(snap.Instances)) })
			if _, ok := snap.Find(iks[j]); !ok || len(body) == 0 {
				b.Fatalf("instance %d not found", j)
			}
		}
	})
}

func BenchmarkMerge(b *testing.B) {
	const services, perService = 100, 100
	for _, fresh := range []bool{true, false} {
		name := map[bool]string{true: "fresh", false: "stale"}[fresh]
		b.Run(name, func(b *testing.B) {
			clk := newFakeClock()
			s := newTestStore(b, "n1", clk)
			recs := make([]Instance, services*perService)
			for j := range recs {
				recs[j] = inst(benchIP(j), 8080).withDefaults()
				recs[j].Metadata = map[string]string{"k": "v"}
				recs[j].Version = Version{Clock: epoch.UnixNano() + int64(time.Hour), Node: "peer"}
				s.Merge(benchKey(j%services), recs[j])
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				j := i % len(recs)
				in := recs[j]
				if fresh {
					in.Version.Clock += int64(i + 1)
				}
				if s.Merge(benchKey(j%services), in) != fresh {
					b.Fatalf("merge %d: got applied=%v, want %v", i, !fresh, fresh)
				}
			}
		})
	}
}

// BenchmarkSweep100k sweeps a store of 100,000 expiring instances whose
// deadlines are spread so that over b.N sweeps every instance becomes
// unhealthy and is then removed. tick10ms sweeps every 10ms of fake time;
// untilNext sleeps (in fake time) until NextDeadline. Reported: sweep cost
// per transition, and lateness in fake time (how long after its deadline
// a transition was made).
func BenchmarkSweep100k(b *testing.B) {
	const n = 100_000
	cases := []struct {
		name      string
		services  int
		untilNext bool
	}{
		{"tick10ms_1000svc", 1000, false},
		{"untilNext_1000svc", 1000, true},
		{"tick10ms_10svc", 10, false}, // 10,000 instances per service
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			clk := newFakeClock()
			s := newTestStore(b, "n1", clk)
			t0 := clk.Now()
			const tick = 10 * time.Millisecond
			half := time.Duration(b.N)*tick/2 - tick
			for i := range n {
				in := inst(benchIP(i), 8080)
				in.BeatTimeout = time.Millisecond + time.Duration(int64(half)*int64(i)/n)
				in.DeleteTimeout = in.BeatTimeout + half
				mustRegister(b, s, benchKey(i%c.services), in)
			}
			var transitions int
			var late, maxLate time.Duration
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				now := clk.Advance(tick)
				if c.untilNext {
					next, ok := s.NextDeadline()
					if !ok {
						break
					}
					clk.Set(next)
					now = next
				}
				for _, tr := range s.Sweep(nil) {
					d := now.Sub(tr.Deadline)
					late += d
					maxLate = max(maxLate, d)
					transitions++
				}
			}
			b.StopTimer()
			if transitions > 0 {
				b.ReportMetric(float64(transitions)/float64(b.N), "transitions/op")
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(transitions), "ns/transition")
				b.ReportMetric(float64(late)/float64(time.Millisecond)/float64(transitions), "fake-late-ms/transition")
				b.ReportMetric(float64(maxLate)/float64(time.Millisecond), "fake-max-late-ms")
			}
			if !c.untilNext && b.N >= 100 && transitions != 2*n {
				b.Errorf("transitions got %d, want %d after %v", transitions, 2*n, clk.Now().Sub(t0))
			}
		})
	}
}
