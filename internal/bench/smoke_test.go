package bench_test

import (
	"bufio"
	"context"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/internal/bench"
)

// startNode runs a real single node on 127.0.0.1 for the test.
func startNode(t *testing.T) string {
	t.Helper()
	return agenttest.URL(agenttest.Start(t))
}

func smokeEnv(t *testing.T) *bench.Env {
	t.Helper()
	c := &bench.Client{HTTP: bench.NewHTTPClient(8, 5*time.Second), Addrs: []string{startNode(t)}}
	return &bench.Env{Client: c, Concurrency: 8, Duration: 300 * time.Millisecond}
}

func figure(t *testing.T, r *bench.Report, name string) float64 {
	t.Helper()
	f, ok := r.Figure(name)
	if !ok {
		t.Fatalf("no figure %q in %+v", name, r.Figures)
	}
	return f.Value
}

func TestSmoke_registerAndRead(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	env := smokeEnv(t)
	env.Floor = &bench.FloorResult{GetRate: 1000, PostRate: 1000}

	// All 200 must be registered: the registration phase gets room for a
	// loaded machine under -race (it ends as soon as they are done).
	renv := *env
	renv.Duration = 5 * time.Second
	r, err := bench.Register(ctx, &renv, bench.RegisterConfig{Instances: 200, Services: 10})
	if err != nil {
		t.Fatal(err)
	}
	if got := figure(t, r, "registered"); got != 200 {
		t.Errorf("got %v registered, want 200; notes %v", got, r.Notes)
	}
	if got := figure(t, r, "errors"); got != 0 {
		t.Errorf("got %v errors, want 0; notes %v", got, r.Notes)
	}
	if _, ok := r.Figure("all nodes list all, after last ack"); !ok {
		t.Errorf("no convergence figure; notes %v", r.Notes)
	}
	if f, _ := r.Figure("register rate"); f.Ratio == nil {
		t.Error("got no floor ratio, want one")
	}

	r, err = bench.Read(ctx, env, bench.ReadConfig{Instances: 5}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := figure(t, r, "read rate"); got <= 0 {
		t.Errorf("got read rate %v, want > 0", got)
	}
	if got := figure(t, r, "errors"); got != 0 {
		t.Errorf("got %v read errors, want 0; notes %v", got, r.Notes)
	}
	if p50, p99 := figure(t, r, "latency p50"), figure(t, r, "latency p99"); p50 <= 0 || p99 < p50 {
		t.Errorf("got p50 %v p99 %v, want 0 < p50 ≤ p99", p50, p99)
	}
}

func TestSmoke_lagAndBeat(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	env := smokeEnv(t)

	r, err := bench.Lag(ctx, env, bench.LagConfig{Writes: 10})
	if err != nil {
		t.Fatal(err)
	}
	if got := figure(t, r, "observations"); got != 10 {
		t.Errorf("got %v observations, want 10; notes %v", got, r.Notes)
	}

	env.Duration = time.Second
	r, err = bench.Beat(ctx, env, bench.BeatConfig{Instances: 50, Services: 5, Interval: 200 * time.Millisecond, Check: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if got := figure(t, r, "registered"); got != 50 {
		t.Errorf("got %v registered, want 50; notes %v", got, r.Notes)
	}
	if got := figure(t, r, "achieved beat rate"); got < 100 {
		t.Errorf("got %v beats/s, want about 250; notes %v", got, r.Notes)
	}
	if got := figure(t, r, "instances ever seen unhealthy"); got != 0 {
		t.Errorf("got %v unhealthy, want 0; notes %v", got, r.Notes)
	}
	if got := figure(t, r, "beats that found no instance"); got != 0 {
		t.Errorf("got %v beats that found nothing, want 0", got)
	}
}

// The overload mode's lean generator registers and beats every instance
// on schedule against a node that is not overloaded, and reports the
// agent CPU per beat when it knows the agent's process (here: the test's).
func TestSmoke_overload(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	env := smokeEnv(t)
	env.Duration = time.Second
	env.Concurrency = 4
	env.PIDs = func() []int { return []int{os.Getpid()} }
	r, err := bench.Overload(ctx, env, bench.BeatConfig{Instances: 100, Services: 5, Interval: 200 * time.Millisecond, Check: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if got := figure(t, r, "registered"); got != 100 {
		t.Errorf("got %v registered, want 100; notes %v", got, r.Notes)
	}
	// 500 beats/s offered; a loaded machine under -race still answers most.
	if got := figure(t, r, "goodput (beats answered 200)"); got < 200 {
		t.Errorf("got goodput %v beats/s, want about 500; notes %v", got, r.Notes)
	}
	for _, name := range []string{"instances ever seen unhealthy", "beat errors", "beats that found no instance"} {
		if got := figure(t, r, name); got != 0 {
			t.Errorf("got %v %s, want 0; notes %v", got, name, r.Notes)
		}
	}
	if got := figure(t, r, "agent CPU per beat"); got <= 0 {
		t.Errorf("got agent CPU per beat %v µs, want > 0", got)
	}
}

// The gRPC mode holds connection-bound instances, times pushes and sees
// the instances go when the connections close.
func TestSmoke_grpc(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a := agenttest.Start(t)
	c := &bench.Client{HTTP: bench.NewHTTPClient(8, 5*time.Second), Addrs: []string{agenttest.URL(a)}}
	env := &bench.Env{Client: c, Concurrency: 8, Duration: 300 * time.Millisecond}
	r, err := bench.GRPC(ctx, env, bench.GRPCConfig{Instances: 200, Connections: 4, Interval: 200 * time.Millisecond,
		Pushes: 3, GRPCAddrs: []string{a.GRPCAddr()}})
	if err != nil {
		t.Fatal(err)
	}
	if p99 := figure(t, r, "push p99"); p99 <= 0 {
		t.Errorf("push p99 %v; notes %v", p99, r.Notes)
	}
	figure(t, r, "every node lists none after the connections closed")
	for _, n := range r.Notes {
		if n != "agent CPU needs a --local cluster" {
			t.Errorf("note: %s", n)
		}
	}
}

// TestSmoke_registerPersistent runs the register mode with --persistent
// against a node with a data directory: every registration is
// acknowledged, and each was written to disk (fsynced) before its answer.
func TestSmoke_registerPersistent(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	a := agenttest.Start(t, func(c *agent.Config) { c.Name, c.GossipAddr, c.DataDir = "solo", "", dir })
	env := &bench.Env{Client: &bench.Client{HTTP: bench.NewHTTPClient(8, 5*time.Second), Addrs: []string{agenttest.URL(a)}},
		Concurrency: 8, Duration: 5 * time.Second}
	r, err := bench.Register(ctx, env, bench.RegisterConfig{Instances: 100, Services: 5, Persistent: true})
	if err != nil {
		t.Fatal(err)
	}
	if got, errs := figure(t, r, "registered"), figure(t, r, "errors"); got != 100 || errs != 0 {
		t.Errorf("got %v registered and %v errors, want 100 and 0; notes %v", got, errs, r.Notes)
	}
	if got := figure(t, r, "register rate"); got <= 0 {
		t.Errorf("got register rate %v, want > 0", got)
	}
	if got := durableRecords(t, agenttest.URL(a)); got < 100 {
		t.Errorf("roster_durable_records_total is %v after 100 persistent registrations, want at least 100", got)
	}
}

// durableRecords reads roster_durable_records_total from base's /metrics.
func durableRecords(t *testing.T, base string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "roster_durable_records_total "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return -1
}
