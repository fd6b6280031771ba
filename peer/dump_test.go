package peer

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/roster-io/roster/internal/await"
	"github.com/roster-io/roster/store"
)

// fill registers n instances on st under services named by name, each
// with meta bytes of metadata.
func fill(t *testing.T, st *store.Store, n, meta int, name func(i int) string) {
	t.Helper()
	md := map[string]string{"blob": strings.Repeat("m", meta)}
	for i := range n {
		k := store.Key{Namespace: "public", Group: "DEFAULT_GROUP", Service: name(i)}
		in := store.Instance{InstanceKey: store.InstanceKey{Cluster: "DEFAULT", IP: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), Port: 80},
			Weight: 1, Healthy: true, Enabled: true, Ephemeral: true, Metadata: md}
		if _, err := st.Register(k, in); err != nil {
			t.Fatal(err)
		}
	}
}

// TestStream_dumpInPages: the start-up dump over a stream comes as pulls
// of pages of partitions, each answer within a frame, and holds every
// record; only a partition whose records alone exceed a frame is pulled
// over HTTP.
func TestStream_dumpInPages(t *testing.T) {
	for _, tc := range []struct {
		name     string
		big      bool // one service of 1.2 MB, in one partition
		wantHTTP int64
	}{{"spread", false, 0}, {"one partition over a frame", true, 1}} {
		t.Run(tc.name, func(t *testing.T) {
			nodes := newMesh(t, []string{"a", "b"}, meshOptions{})
			a, b := nodes["a"], nodes["b"]
			st := b.recv.Store()
			// The mesh's partition of a service is its name's length.
			fill(t, st, 4000, 400, func(i int) string { return "s" + strings.Repeat("x", i%300) })
			if tc.big {
				fill(t, st, 500, 2400, func(int) string { return "big" + strings.Repeat("y", 400) })
			}
			await.True(t, 20*time.Second, "a and b share one connection", func() bool { return shared(a, b) })
			calls := a.tr.Stats().StreamCalls.Load()
			recs, err := a.tr.Dump(context.Background(), b.m)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(recs), len(st.Records()); got != want {
				t.Fatalf("dumped %d records, want %d", got, want)
			}
			if n := a.tr.Stats().StreamCalls.Load() - calls; n < 3 {
				t.Errorf("%d pages over the stream; want the dump (over 2 MB) in several", n)
			}
			if n := b.httpReqs.Load(); n != tc.wantHTTP {
				t.Errorf("%d HTTP requests, want %d", n, tc.wantHTTP)
			}
		})
	}
}

// TestStream_repairInChunks: a repair push larger than a frame goes over
// the stream in several requests, and every record arrives.
func TestStream_repairInChunks(t *testing.T) {
	nodes := newMesh(t, []string{"a", "b"}, meshOptions{})
	a, b := nodes["a"], nodes["b"]
	src, err := store.New(store.Config{Node: "a", Now: time.Now, TombstoneTTL: time.Minute, Partitions: 4093,
		Partition: func(k store.Key) int { return len(k.Service) % 4093 }})
	if err != nil {
		t.Fatal(err)
	}
	fill(t, src, 4000, 400, func(i int) string { return fmt.Sprint("r", i%50) })
	recs := src.Records()
	await.True(t, 20*time.Second, "a and b share one connection", func() bool { return shared(a, b) })
	calls := a.tr.Stats().StreamCalls.Load()
	if err := a.tr.Repair(context.Background(), b.m, recs); err != nil {
		t.Fatal(err)
	}
	if merged, _, _ := b.recv.counts(); merged != len(recs) {
		t.Errorf("b merged %d records, want %d", merged, len(recs))
	}
	if n := a.tr.Stats().StreamCalls.Load() - calls; n < 4 {
		t.Errorf("%d requests over the stream; want a push of about 2 MB in several", n)
	}
	if n := b.httpReqs.Load(); n != 0 {
		t.Errorf("%d HTTP requests, want 0", n)
	}
}

// TestDump_unsyncedPeerRefuses: a node that has not synced (restarted
// moments ago, it may hold nothing yet, while its peers' view of it can
// still say ready) refuses a dump and a pull, over the stream and over
// HTTP, so a node syncing from it tries another peer instead of turning
// ready on an empty registry. Once synced it answers.
func TestDump_unsyncedPeerRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		old  map[string]bool // a dumps over HTTP
	}{{"stream", nil}, {"HTTP", map[string]bool{"a": true}}} {
		t.Run(tc.name, func(t *testing.T) {
			nodes := newMesh(t, []string{"a", "b"}, meshOptions{old: tc.old})
			a, b := nodes["a"], nodes["b"]
			fill(t, b.recv.Store(), 100, 10, func(i int) string { return fmt.Sprint("s", i%7) })
			if tc.old == nil {
				await.True(t, 20*time.Second, "a and b share one connection", func() bool { return shared(a, b) })
			}
			ctx := context.Background()
			b.recv.unsynced.Store(true)
			if recs, err := a.tr.Dump(ctx, b.m); err == nil || !strings.Contains(err.Error(), "not synced") {
				t.Fatalf("dump of an unsynced node: %d records, err %v; want a not-synced error", len(recs), err)
			}
			if recs, err := a.tr.Pull(ctx, b.m, []int{2, 3}, nil); err == nil || !strings.Contains(err.Error(), "not synced") {
				t.Fatalf("pull of an unsynced node: %d records, err %v; want a not-synced error", len(recs), err)
			}
			b.recv.unsynced.Store(false)
			recs, err := a.tr.Dump(ctx, b.m)
			if err != nil || len(recs) != len(b.recv.Store().Records()) {
				t.Fatalf("dump of a synced node: %d records, err %v; want %d", len(recs), err, len(b.recv.Store().Records()))
			}
		})
	}
}
