// Package nodetest starts roster nodes inside the tests of other packages
// (the CLI, the client library, bench): in-process, on 127.0.0.1 with
// random ports, short timers and quiet logs, and shut down when the test
// ends.
package nodetest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/roster-io/roster/node"
)

// readyWithin bounds the wait for a started node to serve.
const readyWithin = 10 * time.Second

// Start starts one node with node.DefaultLocalConfig adjusted by mutate,
// waits until it is ready and returns it.
func Start(tb testing.TB, mutate ...func(*node.Config)) *node.Node {
	tb.Helper()
	cfg := node.DefaultLocalConfig()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, m := range mutate {
		m(&cfg)
	}
	n, err := node.New(cfg)
	if err != nil {
		tb.Fatalf("nodetest: %v", err)
	}
	if err := n.Start(); err != nil {
		_ = n.Shutdown(context.Background())
		tb.Fatalf("nodetest: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = n.Shutdown(ctx)
	})
	for deadline := time.Now().Add(readyWithin); !n.Ready(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			tb.Fatalf("nodetest: node %s not ready within %v", cfg.Name, readyWithin)
		}
	}
	return n
}

// Cluster starts size nodes named n0, n1, … every one after the first
// joining it, and returns them once each is ready.
func Cluster(tb testing.TB, size int, mutate ...func(*node.Config)) []*node.Node {
	tb.Helper()
	var nodes []*node.Node
	for i := range size {
		nodes = append(nodes, Start(tb, append([]func(*node.Config){func(c *node.Config) {
			c.Name = fmt.Sprintf("n%d", i)
			if i > 0 {
				c.Join = []string{nodes[0].GossipAddr()}
			}
		}}, mutate...)...))
	}
	return nodes
}

// URL returns the base URL of n's HTTP API.
func URL(n *node.Node) string { return "http://" + n.Addr() }

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
