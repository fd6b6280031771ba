package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"syscall"
	"testing"
	"time"

	"github.com/roster-io/roster/peer"
	"github.com/roster-io/roster/store"
)

// alone starts a node that forms a cluster of one.
func alone(tb testing.TB) *Node {
	tb.Helper()
	cfg := DefaultLocalConfig()
	cfg.GossipAddr = ""
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	pc := peer.DefaultConfig()
	pc.Self, pc.Logger = cfg.Name, cfg.Logger
	tr, err := peer.New(pc)
	if err != nil {
		tb.Fatal(err)
	}
	n, err := New(cfg, tr)
	if err != nil {
		tb.Fatal(err)
	}
	if err := n.Start("127.0.0.1:1"); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = n.Shutdown(context.Background())
		tr.Close()
	})
	return n
}

var connKey = store.Key{Namespace: "public", Group: "DEFAULT_GROUP", Service: "conn"}

func connInstance(i int) store.Instance {
	return store.Instance{InstanceKey: store.InstanceKey{Cluster: "DEFAULT", IP: fmt.Sprintf("10.3.%d.%d", i/250, i%250+1), Port: 80},
		Weight: 1, Healthy: true, Enabled: true}
}

func TestLeases_registerReleaseAndRefuseAfterClose(t *testing.T) {
	n := alone(t)
	l := n.NewLeases(time.Second)
	ctx := context.Background()
	if _, err := l.Register(ctx, "c1", connKey, connInstance(0)); !errors.Is(err, ErrConnClosed) {
		t.Fatalf("register on a connection never opened: %v", err)
	}
	l.Open("c1")
	in, err := l.Register(ctx, "c1", connKey, connInstance(0))
	if err != nil {
		t.Fatal(err)
	}
	if !in.Ephemeral || in.BeatInterval != time.Second || in.BeatTimeout != LeaseTimeouts*time.Second || in.DeleteTimeout != LeaseTimeouts*time.Second {
		t.Fatalf("lease timings: %+v", in)
	}
	if _, err := l.Register(ctx, "c1", connKey, connInstance(1)); err != nil {
		t.Fatal(err)
	}
	if conns, held := l.Held(); conns != 1 || held != 2 {
		t.Fatalf("held: %d connections, %d instances", conns, held)
	}
	if removed := l.Release(ctx, "c1"); removed != 2 || len(n.Snapshot(connKey).Instances) != 0 {
		t.Fatalf("release removed %d, left %d", removed, len(n.Snapshot(connKey).Instances))
	}
	if _, err := l.Register(ctx, "c1", connKey, connInstance(2)); !errors.Is(err, ErrConnClosed) {
		t.Fatalf("register after release: %v", err)
	}
}

// A client that registered its instance again through another connection
// (it reconnected) keeps it when the old connection's release comes late.
func TestLeases_releaseLeavesANewerRegistration(t *testing.T) {
	n := alone(t)
	l := n.NewLeases(time.Second)
	ctx := context.Background()
	l.Open("old")
	l.Open("new")
	if _, err := l.Register(ctx, "old", connKey, connInstance(0)); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Register(ctx, "new", connKey, connInstance(0)); err != nil {
		t.Fatal(err)
	}
	if removed := l.Release(ctx, "old"); removed != 0 || len(n.Snapshot(connKey).Instances) != 1 {
		t.Fatalf("late release of the old connection removed %d", removed)
	}
	if s := l.Stats(); s.Kept != 1 {
		t.Fatalf("stats: %+v", s)
	}
	if removed := l.Release(ctx, "new"); removed != 1 {
		t.Fatalf("release of the current connection removed %d", removed)
	}
}

func TestLeases_renewReRegistersALostInstance(t *testing.T) {
	n := alone(t)
	l := n.NewLeases(time.Second)
	ctx := context.Background()
	l.Open("c")
	if _, err := l.Register(ctx, "c", connKey, connInstance(0)); err != nil {
		t.Fatal(err)
	}
	// A deletion the client did not ask for (an expiry that raced it).
	if err := n.Deregister(ctx, connKey, connInstance(0).InstanceKey); err != nil {
		t.Fatal(err)
	}
	l.Renew(ctx)
	if got := n.Snapshot(connKey).Instances; len(got) != 1 {
		t.Fatalf("after renewal: %d instances", len(got))
	}
	// A deregistration by the client is final: nothing renews it.
	if err := l.Deregister(ctx, "c", connKey, connInstance(0).InstanceKey); err != nil {
		t.Fatal(err)
	}
	l.Renew(ctx)
	if got := n.Snapshot(connKey).Instances; len(got) != 0 {
		t.Fatalf("after the client's deregistration and a renewal: %d instances", len(got))
	}
}

// BenchmarkLeases_renew10k measures one renewal of 10,000 instances held
// over 100 connections on a node that owns them all (every beat local):
// the holder's CPU per lease interval.
func BenchmarkLeases_renew10k(b *testing.B) {
	n := alone(b)
	l := n.NewLeases(time.Hour)
	ctx := context.Background()
	for i := range 10000 {
		conn := fmt.Sprint("c", i%100)
		l.Open(conn)
		if _, err := l.Register(ctx, conn, connKey, connInstance(i)); err != nil {
			b.Fatal(err)
		}
	}
	var before, after syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	b.ResetTimer()
	for b.Loop() {
		l.Renew(ctx)
	}
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	cpu := time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N)/10, "cpu-µs/1000-instances")
}
