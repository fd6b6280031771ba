package gossip

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roster-io/roster/internal/await"
	"github.com/roster-io/roster/internal/freeport"
)

// testLogger sends logs to t.Log until the test ends; memberlist goroutines
// that outlive Shutdown by a moment are then silenced instead of panicking
// the test binary. ROSTER_TEST_DEBUG=1 includes memberlist's debug lines.
func testLogger(t testing.TB) *slog.Logger {
	t.Helper()
	w := &testWriter{t: t}
	t.Cleanup(w.close)
	level := slog.LevelInfo
	if os.Getenv("ROSTER_TEST_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

type testWriter struct {
	t testing.TB

	// mu guards done.
	mu   sync.Mutex
	done bool
}

var _ io.Writer = (*testWriter)(nil)

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (w *testWriter) close() {
	w.mu.Lock()
	w.done = true
	w.mu.Unlock()
}

// testConfig returns a fast local config for one node of the test's cluster.
func testConfig(t testing.TB, name string, seeds ...string) Config {
	t.Helper()
	cfg := DefaultLocalConfig()
	cfg.Name = name
	cfg.Cluster = t.Name()
	cfg.Join = seeds
	cfg.Logger = testLogger(t)
	cfg.Meta = Meta{HTTPAddr: "127.0.0.1:1" + strconv.Itoa(len(name)), Epoch: time.Now().UnixNano()}
	return cfg
}

// testNode is a started Gossip whose events are recorded.
type testNode struct {
	*Gossip
	rec *recorder
}

// startNode starts a node from cfg and records its events; record shuts it
// down when the test ends.
func startNode(t testing.TB, cfg Config) *testNode {
	t.Helper()
	g, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%s): %v", cfg.Name, err)
	}
	rec := record(t, g)
	if err := g.Start(); err != nil {
		t.Fatalf("Start(%s): %v", cfg.Name, err)
	}
	return &testNode{Gossip: g, rec: rec}
}

// stopNode shuts g down without leaving: to its peers it looks like a
// crash.
func stopNode(t testing.TB, g *Gossip) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := g.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown(%s): %v", g.cfg.Name, err)
	}
}

// startCluster starts n nodes named prefix0..prefixN-1 that join the first
// one, and waits until every node sees all of them.
func startCluster(t testing.TB, prefix string, n int) []*testNode {
	t.Helper()
	nodes := []*testNode{startNode(t, testConfig(t, prefix+"0"))}
	seed := nodes[0].LocalMember().Addr
	for i := 1; i < n; i++ {
		nodes = append(nodes, startNode(t, testConfig(t, prefix+strconv.Itoa(i), seed)))
	}
	waitConverged(t, nodes, names(prefix, n)...)
	return nodes
}

func names(prefix string, n int) []string {
	var out []string
	for i := range n {
		out = append(out, prefix+strconv.Itoa(i))
	}
	return out
}

// waitFor waits (internal/await) until cond returns nil; the failure
// quotes cond's last error.
func waitFor(t testing.TB, timeout time.Duration, cond func() error) {
	t.Helper()
	await.Explain(t, timeout, "condition", func() (bool, string) {
		err := cond()
		return err == nil, fmt.Sprint(err)
	})
}

// memberNames returns the names in ms.
func memberNames(ms []Member) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Name)
	}
	return out
}

// waitConverged waits until every node's Members are exactly want.
func waitConverged(t testing.TB, nodes []*testNode, want ...string) {
	t.Helper()
	want = slices.Sorted(slices.Values(want))
	waitFor(t, 10*time.Second, func() error {
		for _, n := range nodes {
			if got := memberNames(n.Members()); !slices.Equal(got, want) {
				return fmt.Errorf("%s: members %v, want %v", n.cfg.Name, got, want)
			}
		}
		return nil
	})
}

// recorder collects a node's events.
type recorder struct {
	// mu guards events.
	mu     sync.Mutex
	events []Event
}

// record drains g.Events into a recorder until Shutdown closes it. The
// cleanup waits for the draining goroutine.
func record(t testing.TB, g *Gossip) *recorder {
	r := &recorder{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range g.Events() {
			r.mu.Lock()
			r.events = append(r.events, ev)
			r.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		stopNode(t, g)
		<-done
	})
	return r
}

// find returns the first recorded event matching match.
func (r *recorder) find(match func(Event) bool) (Event, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ev := range r.events {
		if match(ev) {
			return ev, true
		}
	}
	return Event{}, false
}

func (r *recorder) snapshot() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// waitEvent waits until a recorded event matches, and returns it.
func (r *recorder) waitEvent(t testing.TB, timeout time.Duration, what string, match func(Event) bool) Event {
	t.Helper()
	var found Event
	waitFor(t, timeout, func() error {
		ev, ok := r.find(match)
		if !ok {
			return fmt.Errorf("no %s event among %v", what, r.snapshot())
		}
		found = ev
		return nil
	})
	return found
}

// freePort returns a loopback port that was free for TCP and UDP a moment
// ago (internal/freeport), for a node that must start later on a known
// address.
func freePort(t testing.TB) int {
	t.Helper()
	port, err := freeport.TCPUDP()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

func mustAddrPort(t testing.TB, s string) netip.AddrPort {
	t.Helper()
	ap, err := parseIPPort(s)
	if err != nil {
		t.Fatal(err)
	}
	return ap
}
