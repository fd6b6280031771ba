package agent_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/store"
)

// BenchmarkHealthChecks10k measures what 10,000 checked persistent
// instances (TCP checks every 5 s, 2,000 checks a second) cost one node's
// request latency: the same list requests run for 6 s with the
// instances' clusters set to NONE (no checks) and to TCP. Run it with
// -benchtime 1x; it reports list p50/p99 and the checks run per second.
func BenchmarkHealthChecks10k(b *testing.B) {
	for _, checker := range []string{store.CheckNone, store.CheckTCP} {
		b.Run("checker="+checker, func(b *testing.B) {
			for range b.N {
				benchChecks(b, checker)
			}
		})
	}
}

func benchChecks(b *testing.B, checker string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() { // accept and close: a healthy port
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	_, p, _ := net.SplitHostPort(ln.Addr().String())
	port, _ := strconv.Atoi(p)
	a := agenttest.Start(b, func(c *agent.Config) { c.GossipAddr, c.MaxInstancesPerService = "", 0 })
	n, ctx := a.Node(), context.Background()
	ci := store.ClusterInfo{HealthChecker: store.HealthChecker{Type: checker}, CheckPort: port}
	for s := range 100 {
		k := keyOf(fmt.Sprintf("checked-%d", s))
		for i := range 100 {
			// 127.0.0.1 on ports of their own, every check going to the
			// one listener through the cluster's checkPort
			in := store.Instance{InstanceKey: store.InstanceKey{Cluster: "DEFAULT", IP: "127.0.0.1", Port: 20000 + s*100 + i},
				Weight: 1, Healthy: true, Enabled: true}
			if _, err := n.Register(ctx, k, in); err != nil {
				b.Fatal(err)
			}
		}
		if err := n.UpdateService(ctx, k, func(s *store.ServiceInfo) { s.Clusters = map[string]store.ClusterInfo{"DEFAULT": ci} }); err != nil {
			b.Fatal(err)
		}
	}
	read := keyOf("read")
	for i := range 20 {
		if _, err := n.Register(ctx, read, store.Instance{InstanceKey: store.InstanceKey{IP: fmt.Sprintf("10.8.0.%d", i), Port: 80},
			Weight: 1, Healthy: true, Enabled: true, Ephemeral: true}); err != nil {
			b.Fatal(err)
		}
	}
	url := agenttest.URL(a) + "/nacos/v1/ns/instance/list?serviceName=read"
	checks := func() float64 {
		return max(metric(b, agenttest.URL(a), `roster_health_checks_total{result="ok",type="TCP"}`), 0) +
			max(metric(b, agenttest.URL(a), `roster_health_checks_total{result="fail",type="TCP"}`), 0)
	}
	before := checks()
	b.ResetTimer()
	var lat []time.Duration
	start := time.Now()
	for time.Since(start) < 6*time.Second {
		t0 := time.Now()
		resp, err := http.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		lat = append(lat, time.Since(t0))
	}
	el := time.Since(start)
	b.StopTimer()
	after := checks()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "list-p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "list-p99-ms")
	b.ReportMetric((after-before)/el.Seconds(), "checks/s")
	b.ReportMetric(float64(len(lat))/el.Seconds(), "lists/s")
}
