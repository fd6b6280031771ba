package node

import (
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
