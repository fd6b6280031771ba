package node

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/roster-io/roster/store"
)

// BenchmarkReplicationLag writes on one node of five and measures how long
// each write takes to be visible on every other node (p50/p99/max over
// all node-write pairs). Run: go test -run '^$' -bench ReplicationLag ./node/
func BenchmarkReplicationLag(b *testing.B) {
	tc := newBenchCluster(b, 5)
	writer := tc.node("n0")
	others := []*Node{}
	for _, n := range tc.live() {
		if n != writer {
			others = append(others, n)
		}
	}
	var lags []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		svc := fmt.Sprintf("lag-%d", i)
		k := writer.keyOf(svc)
		start := time.Now()
		code, body := nacos(b, base(writer), http.MethodPost, "instance", vals("serviceName", svc, "ip", "10.0.0.1", "port", "80", "ephemeral", "false"))
		if code != 200 {
			b.Fatalf("register: %d %s", code, body)
		}
		for _, n := range others {
			// Wait on the snapshot that was checked: one taken after the
			// check may already hold the write and never change again.
			for snap := n.store.Snapshot(k); len(snap.Instances) == 0; snap = n.store.Snapshot(k) {
				select {
				case <-snap.Changed():
				case <-time.After(5*time.Second - time.Since(start)):
					b.Fatalf("write %d not on %s after 5s", i, n.cfg.Name)
				}
			}
			lags = append(lags, time.Since(start))
		}
	}
	b.StopTimer()
	slices.Sort(lags)
	pct := func(p float64) time.Duration { return lags[int(float64(len(lags)-1)*p)] }
	b.ReportMetric(float64(pct(0.5).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(pct(0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lags[len(lags)-1].Microseconds())/1000, "max-ms")
}

// BenchmarkJoinSync100k measures how long a node joining a cluster that
// holds 100,000 instances takes to be ready (pull and merge the registry).
// Run: go test -run '^$' -bench JoinSync100k -benchtime 1x ./node/
func BenchmarkJoinSync100k(b *testing.B) {
	tc := newBenchCluster(b, 1)
	seed := tc.node("n0")
	for i := 0; i < 100000; i++ {
		k := seed.keyOf(fmt.Sprintf("svc-%d", i%1000))
		if _, err := seed.store.Register(k, store.Instance{InstanceKey: store.InstanceKey{Cluster: "DEFAULT",
			IP: fmt.Sprintf("10.%d.%d.%d", i>>16, (i>>8)&255, i&255), Port: 8080}, Weight: 1, Healthy: true, Enabled: true,
			Ephemeral: true, Metadata: map[string]string{"zone": "a", "version": "1.2.3"}}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		n := tc.start(fmt.Sprintf("joiner-%d", i))
		deadline := time.Now().Add(60 * time.Second)
		for !n.Ready() {
			if time.Now().After(deadline) {
				b.Fatal("joiner not ready within 60s")
			}
			time.Sleep(5 * time.Millisecond)
		}
		b.ReportMetric(time.Since(start).Seconds(), "ready-s")
		if got := n.store.Len(); got != 100000 {
			b.Fatalf("joiner holds %d instances, want 100000", got)
		}
	}
}

// newBenchCluster is newTestCluster for benchmarks (quiet logs).
func newBenchCluster(b *testing.B, size int) *testCluster {
	tc := &testCluster{tb: b, nodes: map[string]*Node{}, cut: map[[2]string]bool{}, gossipNames: map[string]string{}}
	for i := 0; i < size; i++ {
		tc.start(fmt.Sprintf("n%d", i))
	}
	tc.waitConverged(20 * time.Second)
	return tc
}
