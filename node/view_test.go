package node

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/roster-io/roster/gossip"
)

// TestMembers_listsSelfBeforeFirstEvent: a node whose gossip runs but
// whose first membership event is not applied yet (the moment right after
// Start) still lists itself, with its HTTP address and readiness, so the
// operator views never show an empty cluster.
func TestMembers_listsSelfBeforeFirstEvent(t *testing.T) {
	cfg := DefaultLocalConfig()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	n, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	gc := n.gcfg
	gc.Meta.HTTPAddr = "127.0.0.1:8848"
	g, err := gossip.New(gc)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := g.Shutdown(ctx); err != nil {
			t.Errorf("gossip shutdown: %v", err)
		}
	})
	n.gossip, n.httpAddr = g, "127.0.0.1:8848"
	n.synced.Store(true)
	ms := n.Members()
	if len(ms) != 1 || !ms[0].Self || ms[0].Name != "local" || ms[0].HTTPAddr != "127.0.0.1:8848" || !ms[0].Ready || ms[0].GossipAddr == "" {
		t.Fatalf("members before the first event: %+v, want this node alone, ready, with its addresses", ms)
	}
}
