//go:build linux

package health

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/roster-io/roster/store"
)

// BenchmarkChecker is the whole checker at work: 2,000 persistent
// instances checked every second (2,000 checks a second, the rate of
// 10,000 instances at 5 s) against a target in a process of its own. It
// reports this process's CPU per check (cpu-µs/check: scheduling,
// workers, metrics and the connection, not the target), the heap
// allocations per check, the checks a second, and the share of checks
// whose handshake had not ended at the second connect and waited in the
// poller (polled/check). Run it with
// -benchtime 1x; each iteration measures a 3 s window after a warm-up.
// The variants: each check in a worker, its connection through the net
// package closed with a FIN (as before tcpCheck) or through tcpCheck;
// and the checker as it is, the scheduler connecting itself
// (poller_linux.go).
func BenchmarkChecker(b *testing.B) {
	tp := startTarget(b)
	for _, bc := range []struct {
		name      string
		workers   int
		dialer    func(ctx context.Context, network, addr string) (net.Conn, error)
		workerTCP bool // tcpCheck in the workers, no poller
	}{
		{"net", 32, (&net.Dialer{KeepAlive: -1}).DialContext, false},
		{"workers", 32, nil, true},
		{"scheduler", 32, nil, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			st, err := store.New(store.DefaultConfig())
			if err != nil {
				b.Fatal(err)
			}
			for s := range 20 {
				k := store.Key{Namespace: "public", Group: "DEFAULT_GROUP", Service: fmt.Sprintf("svc-%d", s)}
				for i := range 100 {
					in := store.Instance{InstanceKey: store.InstanceKey{Cluster: "DEFAULT", IP: "127.0.0.1", Port: 20000 + s*100 + i},
						Weight: 1, Healthy: true, Enabled: true}
					if _, err := st.Register(k, in); err != nil {
						b.Fatal(err)
					}
				}
				ci := store.ClusterInfo{HealthChecker: store.HealthChecker{Type: store.CheckTCP}, CheckPort: tp.port}
				if _, err := st.UpdateService(k, func(s *store.ServiceInfo) { s.Clusters = map[string]store.ClusterInfo{"DEFAULT": ci} }); err != nil {
					b.Fatal(err)
				}
			}
			core := &fakeCore{st: st}
			core.owned.Store(true)
			cfg := DefaultConfig()
			cfg.Interval, cfg.Timeout, cfg.Workers, cfg.Dialer = time.Second, time.Second, bc.workers, bc.dialer
			cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
			c, err := New(cfg, core)
			if err != nil {
				b.Fatal(err)
			}
			if bc.workerTCP {
				c.poller.close()
				c.poller = nil
			}
			c.Start()
			defer c.Stop()
			count := &checkCount{c}
			time.Sleep(1500 * time.Millisecond) // every target's first check is due within the first second
			b.ResetTimer()
			var cpu time.Duration
			var checks, mallocs, polled float64
			var el time.Duration
			for range b.N {
				var m0, m1 runtime.MemStats
				runtime.ReadMemStats(&m0)
				n0, cpu0, t0 := count.Load(), processCPU(), time.Now()
				var p0 uint64
				if c.poller != nil {
					p0 = c.poller.total()
				}
				time.Sleep(3 * time.Second)
				runtime.ReadMemStats(&m1)
				checks += float64(count.Load() - n0)
				cpu += processCPU() - cpu0
				el += time.Since(t0)
				mallocs += float64(m1.Mallocs - m0.Mallocs)
				if c.poller != nil {
					polled += float64(c.poller.total() - p0)
				}
			}
			b.ReportMetric(float64(cpu.Microseconds())/checks, "cpu-µs/check")
			b.ReportMetric(mallocs/checks, "allocs/check")
			b.ReportMetric(checks/el.Seconds(), "checks/s")
			b.ReportMetric(polled/checks, "polled/check")
		})
	}
}
