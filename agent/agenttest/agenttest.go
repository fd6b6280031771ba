// Package agenttest starts roster agents inside the tests of other packages
// (the CLI, the client library, bench): in-process, on 127.0.0.1 with
// random ports, short timers and quiet logs, and shut down when the test
// ends.
package agenttest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/roster-io/roster/agent"
)

// readyWithin bounds the wait for a started node to serve.
const readyWithin = 10 * time.Second

// Start starts one node with agent.DefaultLocalConfig adjusted by mutate,
// waits until it is ready and returns it.
func Start(tb testing.TB, mutate ...func(*agent.Config)) *agent.Agent {
	tb.Helper()
	cfg := agent.DefaultLocalConfig()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, m := range mutate {
		m(&cfg)
	}
	n, err := agent.New(cfg)
	if err != nil {
		tb.Fatalf("agenttest: %v", err)
	}
	if err := n.Start(); err != nil {
		_ = n.Shutdown(context.Background())
		tb.Fatalf("agenttest: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = n.Shutdown(ctx)
	})
	for deadline := time.Now().Add(readyWithin); !n.Ready(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			tb.Fatalf("agenttest: node %s not ready within %v", cfg.Name, readyWithin)
		}
	}
	return n
}

// Cluster starts size nodes named n0, n1, … every one after the first
// joining it, and returns them once each is ready.
func Cluster(tb testing.TB, size int, mutate ...func(*agent.Config)) []*agent.Agent {
	tb.Helper()
	var nodes []*agent.Agent
	for i := range size {
		nodes = append(nodes, Start(tb, append([]func(*agent.Config){func(c *agent.Config) {
			c.Name = fmt.Sprintf("n%d", i)
			if i > 0 {
				c.Join = []string{nodes[0].GossipAddr()}
			}
		}}, mutate...)...))
	}
	return nodes
}

// URL returns the base URL of n's HTTP API.
func URL(n *agent.Agent) string { return "http://" + n.Addr() }

// Eventually polls cond every 10 ms until it holds, failing the test if it
// does not within the deadline.
func Eventually(tb testing.TB, within time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("%s: not true within %v", what, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
