package peer

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/roster-io/roster/internal/await"
)

// beatsSeen records the beat hand-offs one node served on its streams:
// the encoding of each request and of its answer.
type beatsSeen struct {
	mu       sync.Mutex
	requests map[string]int // by Content-Type
	answers  map[string]int
}

func (b *beatsSeen) counts() (requests, answers map[string]int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return copyCounts(b.requests), copyCounts(b.answers)
}

func copyCounts(m map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// watchBeats wraps n's stream handler of beat hand-offs to record them
// in seen. An old node acts as a build that predates MessagePack beats:
// it neither asks for nor grants them, decodes a beats body as JSON
// whatever its type (so a MessagePack one fails, 400) and answers JSON
// whatever the caller accepts.
func watchBeats(n *meshNode, seen *beatsSeen, old bool) {
	const path = "/internal/v1/beats"
	seen.requests, seen.answers = map[string]int{}, map[string]int{}
	if old {
		n.tr.msgpackBeats = false
	}
	fn := n.srv.streamRoutes[path]
	n.srv.streamRoutes[path] = func(w http.ResponseWriter, r *http.Request, from Member) {
		ctype := r.Header.Get("Content-Type")
		if old {
			r.Header.Set("Content-Type", "application/json")
			r.Header.Del("Accept")
		}
		fn(w, r, from)
		seen.mu.Lock()
		seen.requests[ctype]++
		seen.answers[w.Header().Get("Content-Type")]++
		seen.mu.Unlock()
	}
}

// handOffs has from hand n beats to its peer to and checks each answer.
func handOffs(t *testing.T, from, to *meshNode, n int) {
	t.Helper()
	_, before, _ := to.recv.counts()
	for i, b := range sampleBeats(n) {
		ans, err := from.tr.HandOff(context.Background(), to.name, b)
		if err != nil || !ans.Found || ans.Interval() != 5*time.Second || ans.Error != "" {
			t.Fatalf("%s: hand-off %d to %s: %+v, %v", from.name, i, to.name, ans, err)
		}
	}
	if _, after, _ := to.recv.counts(); after-before != n {
		t.Fatalf("%s handled %d of the %d beats %s handed off", to.name, after-before, n, from.name)
	}
}

// TestStream_msgpackBeats: two nodes of this build agree in the
// handshake to hand beats off in MessagePack, and every hand-off and its
// answer, both ways, travels so on their stream.
func TestStream_msgpackBeats(t *testing.T) {
	seen := map[string]*beatsSeen{"a": {}, "b": {}}
	nodes := newMesh(t, []string{"a", "b"}, meshOptions{tune: func(n *meshNode) { watchBeats(n, seen[n.name], false) }})
	a, b := nodes["a"], nodes["b"]
	await.True(t, 20*time.Second, "a and b share one connection", func() bool { return shared(a, b) })
	if !a.sessionTo(b).msgpackBeats || !b.sessionTo(a).msgpackBeats {
		t.Fatal("the sides did not agree to MessagePack beats")
	}
	const n = 10
	handOffs(t, a, b, n)
	handOffs(t, b, a, n)
	for _, name := range []string{"a", "b"} {
		req, ans := seen[name].counts()
		if req[msgpackType] != n || ans[msgpackType] != n || len(req) != 1 || len(ans) != 1 {
			t.Errorf("%s served hand-offs %v answered %v; want %d, all in MessagePack", name, req, ans, n)
		}
	}
	if r := a.httpReqs.Load() + b.httpReqs.Load(); r != 0 {
		t.Errorf("%d HTTP requests; want every hand-off on the stream", r)
	}
}

// TestStream_olderPeerGetsJSONBeats: with a peer of a build that
// predates MessagePack beats, whether it dialed (it asks for nothing) or
// accepted (it names nothing back), every hand-off both ways is JSON and
// is answered, over the stream.
func TestStream_olderPeerGetsJSONBeats(t *testing.T) {
	for _, old := range []string{"a", "b"} { // a dials, b accepts
		t.Run(fmt.Sprintf("old %s", old), func(t *testing.T) {
			seen := map[string]*beatsSeen{"a": {}, "b": {}}
			nodes := newMesh(t, []string{"a", "b"}, meshOptions{tune: func(n *meshNode) { watchBeats(n, seen[n.name], n.name == old) }})
			a, b := nodes["a"], nodes["b"]
			await.True(t, 20*time.Second, "a and b share one connection", func() bool { return shared(a, b) })
			if a.sessionTo(b).msgpackBeats || b.sessionTo(a).msgpackBeats {
				t.Fatal("a stream with an older build agreed to MessagePack beats")
			}
			const n = 10
			handOffs(t, a, b, n)
			handOffs(t, b, a, n)
			for _, name := range []string{"a", "b"} {
				req, ans := seen[name].counts()
				if req["application/json"] != n || len(req) != 1 {
					t.Errorf("%s served hand-offs %v; want %d, all JSON", name, req, n)
				}
				if name == old && (ans["application/json"] != n || len(ans) != 1) {
					t.Errorf("the older %s answered %v; want %d, all JSON", name, ans, n)
				}
			}
			if r := a.httpReqs.Load() + b.httpReqs.Load(); r != 0 {
				t.Errorf("%d HTTP requests; want every hand-off on the stream", r)
			}
		})
	}
}
