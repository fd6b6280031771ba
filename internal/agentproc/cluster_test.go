package agentproc

import (
	"context"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/roster-io/roster/internal/await"
)

// events records a cluster's events.
type events struct {
	mu  sync.Mutex // guards log
	log []Event
}

func (e *events) add(ev Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.log = append(e.log, ev)
}

func (e *events) kinds(node string) []EventKind {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []EventKind
	for _, ev := range e.log {
		if ev.Node == node {
			out = append(out, ev.Kind)
		}
	}
	return out
}

func fakeCluster(t *testing.T, ev *events) ClusterConfig {
	t.Setenv("AGENTPROC_FAKE", "serve")
	return ClusterConfig{Bin: os.Args[0], Args: []string{"--log-level", "warn"}, LogDir: t.TempDir(),
		StopWithin: 5 * time.Second, Events: ev.add}
}

func TestCluster_startKillRestartShutdown(t *testing.T) {
	var ev events
	c, err := StartCluster(context.Background(), fakeCluster(t, &ev), "f", 1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown(syscall.SIGKILL)
	first := c.Get("f1")
	if first == nil || len(c.Live()) != 1 || c.URLs()[0] != first.URL() || c.PIDs()[0] != first.PID() {
		t.Fatalf("got live %v, want f1 alone", c.Live())
	}
	if got := ev.kinds("f1"); len(got) != 2 || got[0] != EventStart || got[1] != EventReady {
		t.Errorf("got events %v, want start and ready", got)
	}
	logs, _ := os.ReadDir(c.LogDir())
	if len(logs) != 1 || !strings.HasPrefix(logs[0].Name(), "f1-") {
		t.Errorf("got log files %v, want one for f1", logs)
	}

	p, err := c.Restart(context.Background(), "f1", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !first.Exited() || p.PID() == first.PID() || p.HTTP == first.HTTP {
		t.Errorf("got the old process exited=%v and new pid %d http %s; want a new process on new ports", first.Exited(), p.PID(), p.HTTP)
	}
	if err := c.Kill("f1"); err != nil || c.Get("f1") != nil || !p.Exited() {
		t.Fatalf("Kill: %v; still listed: %v", err, c.Get("f1"))
	}
	if err := c.Kill("f1"); err == nil {
		t.Error("got no error killing a node that is not running")
	}
	want := []EventKind{EventStart, EventReady, EventSignal, EventStart, EventReady, EventSignal}
	if got := ev.kinds("f1"); !slices.Equal(got, want) {
		t.Errorf("got events %v, want %v (no exit event for the cluster's own kills)", got, want)
	}
	c.Shutdown(syscall.SIGTERM) // nothing left running: returns at once
}

func TestCluster_unexpectedExitIsReported(t *testing.T) {
	var ev events
	c := NewCluster(fakeCluster(t, &ev))
	defer c.Shutdown(syscall.SIGKILL)
	p, err := c.Start(context.Background(), "x", "", "")
	if err != nil {
		t.Fatal(err)
	}
	p.Signal(syscall.SIGKILL) // behind the cluster's back
	await.True(t, 5*time.Second, "exit event", func() bool {
		k := ev.kinds("x")
		return len(k) > 0 && k[len(k)-1] == EventExit
	})
}

func TestCluster_notReadyNamesEachView(t *testing.T) {
	var ev events
	c := NewCluster(fakeCluster(t, &ev))
	defer c.Shutdown(syscall.SIGTERM)
	for _, name := range []string{"a", "b"} {
		if _, err := c.Start(context.Background(), name, "", ""); err != nil {
			t.Fatal(err)
		}
	}
	// Each fake lists only itself, so neither sees full membership.
	err := c.WaitReady(context.Background(), 200*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), `a: {"members":[{"name":"a"`) || !strings.Contains(err.Error(), "b: ") {
		t.Fatalf("got %v, want an error quoting each node's members view", err)
	}
}
