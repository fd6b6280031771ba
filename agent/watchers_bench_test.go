package agent_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/internal/await"
)

// BenchmarkWritesWithWatchersOnMissingServices measures the CPU (of the
// whole test process) of 1,500 registrations through one node, alone and
// with 1,500 blocking queries waiting on services that do not exist.
// Each such watcher is woken only when its own service appears, so the
// watchers should add next to nothing.
// Run: go test -run '^$' -bench WritesWithWatchers -benchtime 1x ./agent/
func BenchmarkWritesWithWatchersOnMissingServices(b *testing.B) {
	const writes, watchers = 1500, 1500
	for _, w := range []int{0, watchers} {
		b.Run(fmt.Sprintf("watchers=%d", w), func(b *testing.B) {
			for range b.N {
				b.ReportMetric(float64(writesCPU(b, writes, w).Milliseconds()), "cpu-ms")
			}
		})
	}
}

// writesCPU starts a node, parks watchers blocking queries on missing
// services, and returns the process CPU spent on writes registrations.
func writesCPU(b *testing.B, writes, watchers int) time.Duration {
	n, base := startNode(b, func(c *agent.Config) { c.MaxWatchers = 0; c.MaxConcurrent = 0; c.MaxInstancesPerService = 0 })
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: watchers + 8}}
	// The watchers end when the node shuts down at the end of the
	// benchmark: leaving releases blocking queries.
	for i := range watchers {
		go func() {
			if resp, err := hc.Get(fmt.Sprintf("%s/v1/instances?service=missing-%d&index=1&wait=60s", base, i)); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	await.True(b, 30*time.Second, "watchers waiting", func() bool { return waitingOf(n) == int64(watchers) })
	start := cpuTime()
	for i := range writes {
		resp, err := hc.PostForm(base+"/nacos/v1/ns/instance", url.Values{"serviceName": {"busy"},
			"ip": {fmt.Sprintf("10.0.%d.%d", i>>8, i&255)}, "port": {"80"}})
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return cpuTime() - start
}
