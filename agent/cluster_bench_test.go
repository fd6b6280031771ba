package agent_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/store"
)

// BenchmarkReplicationLag writes on one node of five and measures how long
// each write takes to be visible on every other node (p50/p99/max over
// all node-write pairs). Run: go test -run '^$' -bench ReplicationLag ./node/
func BenchmarkReplicationLag(b *testing.B) {
	tc := agenttest.NewCluster(b, 5)
	writer := tc.Agent("n0")
	others := []*agent.Agent{}
	for _, n := range tc.Agents() {
		if n != writer {
			others = append(others, n)
		}
	}
	var lags []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		svc := fmt.Sprintf("lag-%d", i)
		k := keyOf(svc)
		start := time.Now()
		code, body := nacos(b, base(writer), http.MethodPost, "instance", vals("serviceName", svc, "ip", "10.0.0.1", "port", "80", "ephemeral", "false"))
		if code != 200 {
			b.Fatalf("register: %d %s", code, body)
		}
		for _, n := range others {
			// Wait on the snapshot that was checked: one taken after the
			// check may already hold the write and never change again.
			for snap := n.Node().Store().Snapshot(k); len(snap.Instances) == 0; snap = n.Node().Store().Snapshot(k) {
				select {
				case <-snap.Changed():
				case <-time.After(5*time.Second - time.Since(start)):
					b.Fatalf("write %d not on %s after 5s", i, n.Node().Name())
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
	tc := agenttest.NewCluster(b, 1)
	seed := tc.Agent("n0")
	for i := 0; i < 100000; i++ {
		k := keyOf(fmt.Sprintf("svc-%d", i%1000))
		if _, err := seed.Node().Store().Register(k, store.Instance{InstanceKey: store.InstanceKey{Cluster: "DEFAULT",
			IP: fmt.Sprintf("10.%d.%d.%d", i>>16, (i>>8)&255, i&255), Port: 8080}, Weight: 1, Healthy: true, Enabled: true,
			Ephemeral: true, Metadata: map[string]string{"zone": "a", "version": "1.2.3"}}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		n := tc.Start(fmt.Sprintf("joiner-%d", i))
		deadline := time.Now().Add(60 * time.Second)
		for !n.Ready() {
			if time.Now().After(deadline) {
				b.Fatal("joiner not ready within 60s")
			}
			time.Sleep(5 * time.Millisecond)
		}
		b.ReportMetric(time.Since(start).Seconds(), "ready-s")
		if got := n.Node().Store().Len(); got != 100000 {
			b.Fatalf("joiner holds %d instances, want 100000", got)
		}
	}
}

// productionTimers sets the default anti-entropy (2 s) and reaping (30 s)
// timers instead of the local config's fast ones.
func productionTimers(c *agent.Config) {
	d := agent.DefaultConfig()
	c.AntiEntropyInterval, c.ReapInterval, c.TombstoneTTL = d.AntiEntropyInterval, d.ReapInterval, d.TombstoneTTL
}

// BenchmarkClusterRegister registers distinct instances through all three
// nodes of an in-process cluster in parallel; every write is acknowledged
// only once a peer holds it. It is the in-process counterpart of
// `roster bench register` and the one to profile:
// go test -run '^$' -bench ClusterRegister -cpuprofile cpu.prof ./node/
//
// Each runs with the peer stream off (http) and on (stream).
func BenchmarkClusterRegister(b *testing.B) {
	for _, mode := range peerModes {
		b.Run(mode.name, func(b *testing.B) { benchClusterRegister(b, mode.mutate) })
	}
}

// peerModes are the transports the cluster benchmarks compare.
var peerModes = []struct {
	name   string
	mutate func(*agent.Config)
}{
	{"http", func(c *agent.Config) { productionTimers(c); c.PeerStream = false }},
	{"stream", func(c *agent.Config) { productionTimers(c); c.PeerStream = true }},
}

func benchClusterRegister(b *testing.B, mutate func(*agent.Config)) {
	tc := agenttest.NewCluster(b, 3, mutate)
	nodes := tc.Agents()
	var seq atomic.Int64
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	cpu0 := cpuTime()
	b.ResetTimer()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := seq.Add(1)
			n := nodes[i%int64(len(nodes))]
			form := url.Values{"serviceName": {fmt.Sprintf("reg-%d", i%100)}, "ip": {fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)},
				"port": {"8080"}, "metadata": {`{"zone":"a"}`}}
			resp, err := client.PostForm(base(n)+"/nacos/v1/ns/instance", form)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("register: %d", resp.StatusCode)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	var batches, writes uint64
	for _, n := range nodes {
		batches += n.Node().Stats().DeltaBatches
		writes += n.Node().Stats().DeltaWrites
	}
	b.ReportMetric(float64(writes)/float64(max(batches, 1)), "writes/batch")
}

// cpuTime is the CPU time (user + system) this process used so far: a
// cost per operation that a busy, shared machine does not inflate the way
// it inflates wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkClusterBeat sends Nacos light beats for 10,000 registered
// instances through all three nodes of an in-process cluster in parallel;
// two beats in three reach a node that is not the owner and are handed
// off. It reports the CPU each beat costs the whole process (three nodes
// and the client): go test -run '^$' -bench ClusterBeat ./node/
func BenchmarkClusterBeat(b *testing.B) {
	for _, mode := range peerModes {
		b.Run(mode.name, func(b *testing.B) { benchClusterBeat(b, mode.mutate) })
	}
}

func benchClusterBeat(b *testing.B, mutate func(*agent.Config)) {
	const instances = 10000
	tc := agenttest.NewCluster(b, 3, mutate)
	nodes := tc.Agents()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	ip := func(i int64) string { return fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255) }
	for i := int64(0); i < instances; i++ {
		code, body := nacos(b, base(nodes[i%3]), http.MethodPost, "instance", vals("serviceName", fmt.Sprintf("beat-%d", i%100), "ip", ip(i), "port", "8080"))
		if code != 200 {
			b.Fatalf("register: %d %s", code, body)
		}
	}
	var seq atomic.Int64
	handed0 := uint64(0)
	for _, n := range nodes {
		handed0 += n.Node().Stats().HandoffBeats
	}
	cpu0 := cpuTime()
	b.ResetTimer()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := seq.Add(1)
			u := base(nodes[i%3]) + fmt.Sprintf("/nacos/v1/ns/instance/beat?serviceName=beat-%d&ip=%s&port=8080", (i%instances)%100, ip(i%instances))
			req, _ := http.NewRequest(http.MethodPut, u, nil)
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("beat: %d", resp.StatusCode)
				return
			}
		}
	})
	b.StopTimer()
	var handed uint64
	for _, n := range nodes {
		handed += n.Node().Stats().HandoffBeats
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "beats/s")
	b.ReportMetric(float64(handed-handed0)/float64(b.N), "handed-off/op")
}
