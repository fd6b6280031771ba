package node

import (
	"net/http"
	"testing"
	"time"
)

func TestReadyHints(t *testing.T) {
	var h readyHints
	now := time.Unix(1_700_000_000, 0)
	if h.ready("b", 7, false, now) {
		t.Fatal("no hint, gossip not ready: ready")
	}
	h.set("b", 7, now)
	if !h.ready("b", 7, false, now.Add(time.Second)) {
		t.Fatal("fresh hint for the same incarnation: not ready")
	}
	if h.ready("b", 8, false, now.Add(time.Second)) {
		t.Fatal("hint of another incarnation counted")
	}
	h.set("b", 7, now)
	if h.ready("b", 7, false, now.Add(readyHintTTL)) {
		t.Fatal("hint older than the TTL counted")
	}
	// Once gossip says ready the hint is gone: a later not-ready is
	// believed.
	h.set("b", 7, now)
	if !h.ready("b", 7, true, now) || h.ready("b", 7, false, now) {
		t.Fatal("gossip did not take over from the hint")
	}
}

// A node that becomes ready tells its peers at once: n1 joins n0, and n0
// receives n1's announcement. (Gossip also says n1 is ready here, so the
// membership loop may drop the hint at once; the count shows it arrived.)
func TestCluster_readyHintReachesPeers(t *testing.T) {
	tc := newTestCluster(t, 2)
	n0 := tc.node("n0")
	eventually(t, 5*time.Second, "n1's ready announcement reached n0", func() bool {
		return n0.stats.readyHints.Load() >= 1
	})
	// The route refuses a caller that is not a member.
	code, _ := do(t, http.MethodPost, base(n0)+"/internal/v1/ready", "", "")
	if code != http.StatusForbidden && code != http.StatusUnauthorized {
		t.Fatalf("ready from a non-member: %d, want 403 or 401", code)
	}
}
