package peer

import (
	"context"
	"testing"
	"time"

	"github.com/roster-io/roster/internal/await"
)

// TestStream_refusedUpgradeIsRetriedSoon: a peer that refuses the upgrade
// with 403 (it has not yet heard of the sender, as right after a join or a
// restart) is asked again with the usual backoff, not after the minute an
// older build without the stream waits, so the stream is up within
// seconds of the peer knowing the sender.
func TestStream_refusedUpgradeIsRetriedSoon(t *testing.T) {
	p := newStreamPair(t, []byte("k"), false, false)
	p.refuse.Store(2)
	await.True(t, 15*time.Second, "the stream is up after two refusals", func() bool {
		l := p.tr.linkOf(p.m)
		return l != nil && l.session() != nil
	})
	if n := p.refuse.Load(); n > -1 {
		t.Fatalf("refusals left %d: the upgrade was not retried", n)
	}
}

// TestStream_handOffToADeadPeerFailsAtOnce: when the peer's process dies
// (its connections reset, its port closed), a hand-off on the stream fails
// at once, as an HTTP hand-off does, so the sender handles the beat
// itself without waiting for the hand-off timeout.
func TestStream_handOffToADeadPeerFailsAtOnce(t *testing.T) {
	p := newStreamPair(t, []byte("k"), false, false)
	p.waitStream(t)
	if _, err := p.tr.HandOff(context.Background(), "n1", validBeat()); err != nil {
		t.Fatalf("hand-off while up: %v", err)
	}
	p.http.Close()
	p.srv.Close()
	for i := range 5 {
		began := time.Now()
		_, err := p.tr.HandOff(context.Background(), "n1", validBeat())
		if err == nil {
			t.Fatalf("hand-off %d to a dead peer succeeded", i)
		}
		// The hand-off timeout is 1 s; failing at once takes
		// milliseconds, and a third of the timeout leaves a loaded
		// machine's scheduler room.
		if d := time.Since(began); d > 330*time.Millisecond {
			t.Fatalf("hand-off %d to a dead peer took %v to fail (%v), want it at once", i, d, err)
		}
	}
}

// TestStream_bytesCounted: the stream's connection counts in the peer
// byte counters (roster_peer_bytes_total) as the HTTP client's do, both
// ways, and still ends with a reset when it fails.
func TestStream_bytesCounted(t *testing.T) {
	p := newStreamPair(t, []byte("k"), false, false)
	p.waitStream(t)
	sent, recv := p.tr.Stats().BytesSent.Load(), p.tr.Stats().BytesReceived.Load()
	body := sampleRecords(50)
	enc, _, err := encodeBody(&deltasRequest{Records: body})
	if err != nil {
		t.Fatal(err)
	}
	size := len(enc)
	if !p.tr.Broadcast(body).First(context.Background(), 5*time.Second) {
		t.Fatal("deltas not acknowledged")
	}
	if n := p.httpReqs.Load(); n != 0 {
		t.Fatalf("%d HTTP requests; want everything on the stream", n)
	}
	// The writer counts a write once it returns, which may be after the
	// answer arrived.
	await.True(t, 5*time.Second, "the records counted sent", func() bool {
		return p.tr.Stats().BytesSent.Load()-sent >= uint64(size)
	})
	if d := p.tr.Stats().BytesReceived.Load() - recv; d == 0 {
		t.Error("no bytes counted received for the answer")
	}
	s := p.tr.linkOf(p.m).session()
	if s == nil || s.tcp == nil {
		t.Fatal("the session lost its TCP connection behind the counter (no reset on failure)")
	}
}
