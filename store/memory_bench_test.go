package store

import (
	"runtime"
	"strconv"
	"testing"
	"time"
)

// BenchmarkMemoryPerInstance measures the live heap one registered
// instance costs, after a GC, with 100,000 instances in 100 services, each
// with the metadata nacos-sdk-go clients commonly send (heartbeat timings
// and a couple of labels). The store alone: no snapshots' cached response
// bytes, no HTTP.
// Run: go test -run '^$' -bench MemoryPerInstance -benchtime 1x ./store/
func BenchmarkMemoryPerInstance(b *testing.B) {
	const total, services = 100000, 100
	for it := 0; it < b.N; it++ {
		keys, iks := benchKeys(services, total)
		before := liveHeap()
		s := newTestStore(b, "n1", newFakeClock())
		for i := 0; i < total; i++ {
			in := Instance{InstanceKey: iks[i], Weight: 1, Healthy: true, Enabled: true, Ephemeral: true,
				BeatInterval: 5 * time.Second, BeatTimeout: 15 * time.Second, DeleteTimeout: 30 * time.Second,
				// Fresh strings per instance, as decoding a request gives.
				Metadata: map[string]string{
					string([]byte("preserved.heart.beat.interval")): strconv.Itoa(5000),
					string([]byte("preserved.heart.beat.timeout")):  strconv.Itoa(15000),
					string([]byte("zone")):                          string([]byte("eu-west-1a")),
					string([]byte("version")):                       string([]byte("1.4.2")),
				}}
			if _, err := s.Register(keys[i%services], in); err != nil {
				b.Fatal(err)
			}
		}
		iks = nil
		after := liveHeap()
		b.ReportMetric(float64(after-before)/total, "heap-B/instance")
		runtime.KeepAlive(s)
	}
}

// liveHeap returns the heap in use after a full GC.
func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}
