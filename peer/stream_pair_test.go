package peer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/roster-io/roster/internal/await"
)

// TestStream_onePerPair: in a mesh of four nodes, each pair of nodes
// shares one connection: both send their requests over it, none goes as
// an HTTP request, and the machine holds exactly one established TCP
// connection per pair between the nodes' ports.
func TestStream_onePerPair(t *testing.T) {
	names := []string{"n0", "n1", "n2", "n3"}
	nodes := newMesh(t, names, meshOptions{})
	for _, a := range names {
		for _, b := range names {
			if a < b {
				await.True(t, 20*time.Second, a+" and "+b+" share one connection", func() bool { return shared(nodes[a], nodes[b]) })
			}
		}
	}
	for _, a := range names {
		for _, b := range names {
			if a != b {
				send(t, nodes[a], nodes[b])
			}
		}
	}
	pairs := len(names) * (len(names) - 1) / 2
	await.True(t, 20*time.Second, fmt.Sprintf("%d connections in all", pairs), func() bool {
		total, viaProc := 0, 0
		for _, a := range names {
			for _, b := range names {
				if a != b {
					total += len(nodes[a].live(nodes[b]))
				}
			}
			viaProc += establishedTo(portOf(t, nodes[a].m.HTTPAddr))
		}
		// Each connection is live on both of its nodes.
		return total == 2*pairs && (viaProc == pairs || viaProc < 0)
	})
	for _, name := range names {
		if n := nodes[name].httpReqs.Load(); n != 0 {
			t.Errorf("%s served %d HTTP requests; want all on the streams", name, n)
		}
	}
	// Only the node of each pair whose name sorts first dialed.
	for i, name := range names {
		if got, want := nodes[name].tr.Stats().StreamConnects.Load(), uint64(len(names)-1-i); got != want {
			t.Errorf("%s opened %d connections, want %d", name, got, want)
		}
	}
}

// TestStream_reconnectedByOneSide: when the connection of a pair drops,
// the node whose name sorts first dials again and the other waits for
// it, so the pair is back to one connection, made once.
func TestStream_reconnectedByOneSide(t *testing.T) {
	nodes := newMesh(t, []string{"a", "b"}, meshOptions{})
	a, b := nodes["a"], nodes["b"]
	await.True(t, 20*time.Second, "a and b share one connection", func() bool { return shared(a, b) })
	send(t, b, a)
	first := a.sessionTo(b)
	dialsA, dialsB := a.tr.Stats().StreamConnects.Load(), b.tr.Stats().StreamConnects.Load()
	first.fail(errors.New("test: dropped"))
	await.True(t, 20*time.Second, "a and b share a new connection", func() bool {
		s := a.sessionTo(b)
		return s != nil && s != first && shared(a, b)
	})
	if d := a.tr.Stats().StreamConnects.Load() - dialsA; d != 1 {
		t.Errorf("a dialed %d times, want 1", d)
	}
	if d := b.tr.Stats().StreamConnects.Load() - dialsB; d != 0 {
		t.Errorf("b dialed %d times, want 0 (it waits for a)", d)
	}
	send(t, a, b)
	send(t, b, a)
	if n := a.httpReqs.Load() + b.httpReqs.Load(); n != 0 {
		t.Errorf("%d HTTP requests after the reconnection; want all on the stream", n)
	}
}

// TestStream_duplicateDrainsWithoutLoss: when both nodes of a pair dialed
// (the second, tired of waiting, while the first was connecting), both
// keep the connection the first dialed and drain the other: the requests
// in flight on it are answered on it, none is sent again over HTTP, and
// the drained connection closes gracefully.
func TestStream_duplicateDrainsWithoutLoss(t *testing.T) {
	nodes := newMesh(t, []string{"a", "b"}, meshOptions{tune: func(n *meshNode) {
		if n.name == "a" {
			n.cut.Store(true) // a does not dial yet
		} else {
			n.tr.streamYield = 0 // b dials at once
		}
	}})
	a, b := nodes["a"], nodes["b"]
	await.True(t, 20*time.Second, "b's connection is up on both", func() bool { return shared(a, b) })
	dup := b.sessionTo(a)
	// Repairs that take a while on a, in flight on b's connection when
	// a dials its own (each is a request of its own).
	a.recv.slow.Store(int64(300 * time.Millisecond))
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 64 {
		wg.Go(func() {
			if err := b.tr.Repair(context.Background(), a.m, sampleRecords(2)); err != nil {
				errs <- err
			}
		})
	}
	await.True(t, 10*time.Second, "repairs in flight on b's connection", func() bool {
		dup.mu.Lock()
		defer dup.mu.Unlock()
		return len(dup.pending) > 0
	})
	a.cut.Store(false)
	s, err := a.tr.dialStream(context.Background(), b.m) // as a's link would, had it not seen b's first
	if err != nil {
		t.Fatal(err)
	}
	a.tr.linkOf(b.m).add(s, true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	await.True(t, 20*time.Second, "both send on a's connection", func() bool {
		return a.sessionTo(b) == s && shared(a, b)
	})
	<-dup.done()
	if !errors.Is(dup.cause(), errDrained) {
		t.Errorf("b's connection ended with %v, want a drain", dup.cause())
	}
	if n := a.httpReqs.Load() + b.httpReqs.Load(); n != 0 {
		t.Errorf("%d requests went over HTTP; want every one answered on a stream", n)
	}
	a.recv.slow.Store(0)
	send(t, a, b)
	send(t, b, a)
	await.True(t, 20*time.Second, "one connection left", func() bool { return len(a.live(b)) == 1 && len(b.live(a)) == 1 })
}

// TestStream_mixedBuilds: a node and a peer of a build before duplex
// connections (it neither asks for one nor grants one) each dial their
// own one-way connection, whichever name sorts first, and everything
// each sends reaches the other over a stream.
func TestStream_mixedBuilds(t *testing.T) {
	for _, old := range []string{"a", "b"} {
		t.Run("old "+old, func(t *testing.T) {
			nodes := newMesh(t, []string{"a", "b"}, meshOptions{old: map[string]bool{old: true}, tune: func(n *meshNode) {
				n.tr.streamYield = time.Hour // only learning that the peer is old makes b dial
			}})
			a, b := nodes["a"], nodes["b"]
			for _, pair := range [][2]*meshNode{{a, b}, {b, a}} {
				from, to := pair[0], pair[1]
				await.True(t, 20*time.Second, from.name+" has a one-way stream to "+to.name, func() bool {
					s := from.sessionTo(to)
					return s != nil && !s.duplex
				})
			}
			send(t, a, b)
			send(t, b, a)
			if n := a.httpReqs.Load() + b.httpReqs.Load(); n != 0 {
				t.Errorf("%d HTTP requests; want all on the streams", n)
			}
			if da, db := a.tr.Stats().StreamConnects.Load(), b.tr.Stats().StreamConnects.Load(); da != 1 || db != 1 {
				t.Errorf("a dialed %d, b %d; want one each", da, db)
			}
		})
	}
}

// TestStream_oldPeerDialsBeforeTheLinkExists: a peer of a build before
// duplex connections dials its one-way connection before this node has
// a link to it (this node learns of the member a moment later); the
// link, once made, dials its own at once instead of waiting for a dial
// that will never come.
func TestStream_oldPeerDialsBeforeTheLinkExists(t *testing.T) {
	nodes := newMesh(t, []string{"a", "b"}, meshOptions{old: map[string]bool{"a": true}, late: map[string]bool{"b": true},
		tune: func(n *meshNode) { n.tr.streamYield = time.Hour }})
	a, b := nodes["a"], nodes["b"]
	await.True(t, 20*time.Second, "b holds a's one-way dial", func() bool {
		b.tr.mu.Lock()
		defer b.tr.mu.Unlock()
		return b.tr.held["a"].oneWay
	})
	b.tr.SetMembers(members(nodes))
	await.True(t, 20*time.Second, "b has a one-way stream to a", func() bool {
		s := b.sessionTo(a)
		return s != nil && !s.duplex
	})
	send(t, b, a)
	if n := a.httpReqs.Load(); n != 0 {
		t.Errorf("%d HTTP requests to a; want all on b's stream", n)
	}
}
