package agent_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/internal/bench"
	"github.com/roster-io/roster/node"
	"github.com/roster-io/roster/store"
)

// BenchmarkHealthChecks10k measures what 10,000 checked persistent
// instances (TCP checks every 5 s, 2,000 checks a second) cost one node's
// request latency. One node holds them; list requests run back to back
// once a millisecond in windows of 2 s, alternately with every checked cluster set to NONE
// (no checks) and to TCP, four windows of each, so that both kinds see
// the same machine. A third window in each round is the floor: no
// checks, and a goroutine burning the extra CPU the round's TCP window
// took, so that what the checks cost the lists beyond their CPU shows.
// Run it with -benchtime 1x; it reports the medians over the windows of
// each kind of the list p50 and p99, the extra cores of the TCP and burn
// windows over the NONE ones, the checks run a second, the registry
// writes in a TCP window (a check writes only when it changes an
// instance's health: none here), and the process CPU per check (the
// checker and the listener it connects to, both in this process).
func BenchmarkHealthChecks10k(b *testing.B) {
	for range b.N {
		benchChecks(b)
	}
}

// checkWindow is one measured window.
type checkWindow struct {
	p50, p99 time.Duration
	checks   float64
	writes   uint64 // registry writes (store index) in the window
	cpu      time.Duration
	elapsed  time.Duration
}

func benchChecks(b *testing.B) {
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
	port := ln.Addr().(*net.TCPAddr).Port
	a := agenttest.Start(b, func(c *agent.Config) { c.GossipAddr, c.MaxInstancesPerService = "", 0 })
	n, ctx := a.Node(), context.Background()
	setChecked(b, n, store.CheckNone, port, true)
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
	b.ResetTimer()
	var none, tcp, burn []checkWindow
	measure := func() checkWindow {
		c0, cpu0, i0 := checks(), processCPU(), n.Store().Index()
		w := listFor(b, url, 2*time.Second)
		w.checks, w.cpu, w.writes = checks()-c0, processCPU()-cpu0, n.Store().Index()-i0
		return w
	}
	for range 4 {
		for _, checker := range []string{store.CheckNone, store.CheckTCP} {
			setChecked(b, n, checker, port, false)
			time.Sleep(1500 * time.Millisecond) // the next rescan (1 s) takes the change
			if checker == store.CheckNone {
				none = append(none, measure())
			} else {
				tcp = append(tcp, measure())
			}
		}
		// The floor: no checks, and a goroutine burning the CPU the
		// checks of this round took, in slices as fine as theirs.
		setChecked(b, n, store.CheckNone, port, false)
		time.Sleep(1500 * time.Millisecond)
		nw, tw := none[len(none)-1], tcp[len(tcp)-1]
		stop := bench.BurnCPU(tw.cpu.Seconds()/tw.elapsed.Seconds() - nw.cpu.Seconds()/nw.elapsed.Seconds())
		burn = append(burn, measure())
		stop()
	}
	b.StopTimer()
	med := func(ws []checkWindow, f func(checkWindow) float64) float64 {
		v := make([]float64, len(ws))
		for i, w := range ws {
			v[i] = f(w)
		}
		slices.Sort(v)
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(med(none, func(w checkWindow) float64 { return ms(w.p50) }), "none-p50-ms")
	b.ReportMetric(med(none, func(w checkWindow) float64 { return ms(w.p99) }), "none-p99-ms")
	b.ReportMetric(med(tcp, func(w checkWindow) float64 { return ms(w.p50) }), "tcp-p50-ms")
	b.ReportMetric(med(tcp, func(w checkWindow) float64 { return ms(w.p99) }), "tcp-p99-ms")
	b.ReportMetric(med(burn, func(w checkWindow) float64 { return ms(w.p50) }), "burn-p50-ms")
	b.ReportMetric(med(burn, func(w checkWindow) float64 { return ms(w.p99) }), "burn-p99-ms")
	cores := func(ws []checkWindow) float64 {
		return med(ws, func(w checkWindow) float64 { return w.cpu.Seconds() / w.elapsed.Seconds() })
	}
	b.ReportMetric(cores(tcp)-cores(none), "tcp-extra-cores")
	b.ReportMetric(cores(burn)-cores(none), "burn-extra-cores")
	b.ReportMetric(med(tcp, func(w checkWindow) float64 { return w.checks / w.elapsed.Seconds() }), "checks/s")
	b.ReportMetric(med(tcp, func(w checkWindow) float64 { return float64(w.writes) }), "writes/tcp-window")
	// CPU per check: the extra CPU a second of a TCP window over the
	// NONE window before it, per check.
	var per []float64
	for i := range tcp {
		extra := tcp[i].cpu.Seconds()/tcp[i].elapsed.Seconds() - none[i].cpu.Seconds()/none[i].elapsed.Seconds()
		per = append(per, extra*1e6/(tcp[i].checks/tcp[i].elapsed.Seconds()))
	}
	slices.Sort(per)
	b.ReportMetric((per[1]+per[2])/2, "cpu-µs/check")
}

// setChecked sets the checker of the 100 services of 100 persistent
// instances each, all checked on port (register: create them first).
func setChecked(b *testing.B, n *node.Node, checker string, port int, register bool) {
	ctx := context.Background()
	ci := store.ClusterInfo{HealthChecker: store.HealthChecker{Type: checker}, CheckPort: port}
	for s := range 100 {
		k := keyOf(fmt.Sprintf("checked-%d", s))
		for i := range 100 {
			if !register {
				break
			}
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
}

// listFor lists url once a millisecond for d (a fixed load, so that the
// windows' CPU compares) and returns the latencies.
func listFor(b *testing.B, url string, d time.Duration) checkWindow {
	var lat []time.Duration
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	for time.Since(start) < d {
		<-tick.C
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
	slices.Sort(lat)
	return checkWindow{p50: lat[len(lat)/2], p99: lat[len(lat)*99/100], elapsed: el}
}

// processCPU is the user plus system CPU this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
