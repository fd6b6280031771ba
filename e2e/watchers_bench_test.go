package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/roster-io/roster/internal/agentproc"
	"github.com/roster-io/roster/internal/await"
)

// BenchmarkAgentCPUWritesWithWatchers measures the CPU that one roster
// agent process spends (utime + stime from /proc/PID/stat) on 12,000
// registrations (enough to rise above the 10 ms tick of the counters),
// alone and with 1,500 blocking queries waiting on
// services that do not exist. The clients run in the benchmark's process,
// so only the agent's own work counts. Each watcher wakes only when its
// own service appears, so they should add next to nothing.
// Run: go test -run '^$' -bench AgentCPUWritesWithWatchers -benchtime 3x ./e2e/
func BenchmarkAgentCPUWritesWithWatchers(b *testing.B) {
	bin, err := agentproc.Binary(context.Background(), "..")
	if err != nil {
		b.Fatal(err)
	}
	const writes = 12000
	for _, watchers := range []int{0, 1500} {
		b.Run(fmt.Sprintf("watchers=%d", watchers), func(b *testing.B) {
			for range b.N {
				b.ReportMetric(float64(agentWritesCPU(b, bin, writes, watchers).Milliseconds()), "agent-cpu-ms")
			}
		})
	}
}

// agentWritesCPU starts an agent, parks watchers on missing services and
// returns the agent's CPU time over writes registrations.
func agentWritesCPU(b *testing.B, bin string, writes, watchers int) time.Duration {
	p, err := agentproc.Start(context.Background(), agentproc.Spec{Bin: bin, Name: "cpu", Ready: true,
		Args: []string{"--max-instances-per-service", "0"}})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Stop(syscall.SIGKILL, 5*time.Second)
	base := p.URL()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: watchers + 8}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := range watchers {
		go func() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/v1/instances?service=missing-%d&index=1&wait=60s", base, i), nil)
			if resp, err := hc.Do(req); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	await.True(b, 30*time.Second, "watchers waiting", func() bool { return blockingQueries(hc, base) >= watchers })
	start := procCPU(b, p.PID())
	for i := range writes {
		resp, err := hc.PostForm(base+"/nacos/v1/ns/instance", url.Values{"serviceName": {"busy"},
			"ip": {fmt.Sprintf("10.0.%d.%d", i>>8, i&255)}, "port": {"80"}})
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return procCPU(b, p.PID()) - start
}

// blockingQueries reads roster_blocking_queries from the agent's metrics.
func blockingQueries(hc *http.Client, base string) int {
	resp, err := hc.Get(base + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, "roster_blocking_queries "); ok {
			n, _ := strconv.ParseFloat(v, 64)
			return int(n)
		}
	}
	return 0
}

// procCPU returns the user + system CPU time of process pid.
func procCPU(b *testing.B, pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command name (which may hold spaces) start after
	// the last ')': state is field 3, utime 14, stime 15.
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+1:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ is 100 on Linux
}
