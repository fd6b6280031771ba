package node

import (
	"fmt"
	"testing"
)

// TestFaults_blockOutlivesMembership: a blocked member's gossip address
// stays blocked once the member is gone from the view (declared dead),
// so gossip's reconnect joins cannot heal an injected partition.
func TestFaults_blockOutlivesMembership(t *testing.T) {
	var f faults
	f.set([]string{"n1"})
	if f.allowsAddr("127.0.0.1:1", "n1", true) {
		t.Fatal("traffic to a live blocked member passes")
	}
	if !f.allowsAddr("127.0.0.1:0", "n0", true) {
		t.Fatal("traffic to a live unblocked member is dropped")
	}
	if f.allowsAddr("127.0.0.1:1", "", false) {
		t.Fatal("traffic to the address of a blocked member gone from the view passes")
	}
	if !f.allowsAddr("127.0.0.1:9", "", false) {
		t.Fatal("traffic to an address never seen (a seed) is dropped")
	}
	f.set(nil)
	if !f.allowsAddr("127.0.0.1:1", "", false) {
		t.Fatal("traffic still dropped after healing")
	}
}

// TestFaults_seenAddressesBounded: members restarting on new addresses do
// not grow the remembered addresses past maxSeenAddrs.
func TestFaults_seenAddressesBounded(t *testing.T) {
	var f faults
	for i := range maxSeenAddrs + 10 {
		f.allowsAddr(fmt.Sprintf("10.0.%d.%d:7946", i/256, i%256), "n", true)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.seen) > maxSeenAddrs {
		t.Fatalf("remembered %d addresses, want at most %d", len(f.seen), maxSeenAddrs)
	}
}
