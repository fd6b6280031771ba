// Package agenttest starts roster agents inside tests: in-process, on
// 127.0.0.1 with random ports, short timers and quiet logs, and shut down
// when the test ends. Start runs one agent; a Cluster runs several joined
// into one cluster, with a network the test can cut between chosen
// agents (Partition, Heal) and agents it can kill as SIGKILL would.
package agenttest

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/internal/await"
)

// readyWithin bounds the wait for a started agent to serve.
const readyWithin = 10 * time.Second

// Start starts one agent with agent.DefaultLocalConfig adjusted by
// mutate, waits until it is ready and returns it. Its logs are discarded.
func Start(tb testing.TB, mutate ...func(*agent.Config)) *agent.Agent {
	tb.Helper()
	cfg := agent.DefaultLocalConfig()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, m := range mutate {
		m(&cfg)
	}
	a := launch(tb, cfg)
	await.True(tb, readyWithin, "agent "+cfg.Name+" ready", a.Ready)
	return a
}

// launch builds and starts an agent and shuts it down when the test ends.
func launch(tb testing.TB, cfg agent.Config) *agent.Agent {
	tb.Helper()
	a, err := agent.New(cfg)
	if err != nil {
		tb.Fatalf("agenttest: %v", err)
	}
	if err := a.Start(); err != nil {
		_ = a.Shutdown(context.Background())
		tb.Fatalf("agenttest: start %s: %v", cfg.Name, err)
	}
	tb.Cleanup(func() { stop(tb, a) })
	return a
}

// stop shuts a down gracefully (idempotent), logging a slow or failed
// shutdown.
func stop(tb testing.TB, a *agent.Agent) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	err := a.Shutdown(ctx)
	if el := time.Since(start); el > 2*time.Second || err != nil {
		tb.Logf("agenttest: shutdown of %s took %v: %v", a.Node().Name(), el, err)
	}
}

// URL returns the base URL of a's HTTP API.
func URL(a *agent.Agent) string { return "http://" + a.Addr() }

// Logger returns a logger that writes to the test's log at level (warn,
// or what ROSTER_TEST_LOG says: debug, info), tagged with the agent's
// name.
func Logger(tb testing.TB, name string) *slog.Logger {
	level := slog.LevelWarn
	if err := level.UnmarshalText([]byte(os.Getenv("ROSTER_TEST_LOG"))); err != nil {
		level = slog.LevelWarn
	}
	return slog.New(slog.NewTextHandler(testWriter{tb}, &slog.HandlerOptions{Level: level})).With("node", name)
}

// testWriter sends log lines to the test's log.
type testWriter struct{ tb testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.tb.Helper()
	w.tb.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
