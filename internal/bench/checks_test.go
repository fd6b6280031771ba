package bench_test

import (
	"context"
	"testing"
	"time"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/internal/bench"
)

// TestSmoke_checks runs the checks mode on one node checking every 100 ms:
// the closed ports turn unhealthy, checks run in the window with checks
// and (almost) none in the one without, and both windows have latencies.
func TestSmoke_checks(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a := agenttest.Start(t, func(c *agent.Config) {
		c.HealthCheck.Interval, c.HealthCheck.Timeout = 100*time.Millisecond, 50*time.Millisecond
	})
	env := &bench.Env{Client: &bench.Client{HTTP: bench.NewHTTPClient(4, 5*time.Second), Addrs: []string{agenttest.URL(a)}},
		Concurrency: 4, Duration: 500 * time.Millisecond}
	r, err := bench.Checks(ctx, env, bench.ChecksConfig{Instances: 40, Services: 4, ClosedPercent: 30, ReadRate: 100})
	if err != nil {
		t.Fatalf("%v; notes %v", err, r.Notes)
	}
	// 10 instances a service, 3 of them on closed ports: 28 healthy.
	if got := figure(t, r, "checks rate"); got < 40 { // 40 targets every 100 ms: ~400/s
		t.Errorf("got %.0f checks/s with checks on, want at least 40", got)
	}
	for _, name := range []string{"read p99, with checks", "read p99, without checks"} {
		if got := figure(t, r, name); got <= 0 {
			t.Errorf("%s: got %v, want a latency", name, got)
		}
	}
	if got := figure(t, r, "read errors, with checks") + figure(t, r, "read errors, without checks"); got != 0 {
		t.Errorf("got %v read errors; notes %v", got, r.Notes)
	}
	if _, ok := r.Figure("closed ports unhealthy on every node, after registration"); !ok {
		t.Error("no convergence figure")
	}
}
