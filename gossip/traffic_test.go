package gossip

import (
	"fmt"
	"log/slog"
	"testing"
	"time"
)

// TestGossip_trafficCounted: probing each other moves bytes both ways on
// every node, and the counts grow.
func TestGossip_trafficCounted(t *testing.T) {
	t.Parallel()
	nodes := startCluster(t, "t", 3)
	// Probes flow both ways over UDP: every node sends and receives.
	first := make([]Traffic, len(nodes))
	waitFor(t, 10*time.Second, func() error {
		for i, n := range nodes {
			if first[i] = n.Traffic(); first[i].SentBytes == 0 || first[i].ReceivedBytes == 0 {
				return fmt.Errorf("%s: %+v, want bytes sent and received", n.cfg.Name, first[i])
			}
		}
		return nil
	})
	// And keep flowing: every node sends and receives more.
	waitFor(t, 10*time.Second, func() error {
		for i, n := range nodes {
			if tr := n.Traffic(); tr.SentBytes <= first[i].SentBytes || tr.ReceivedBytes <= first[i].ReceivedBytes {
				return fmt.Errorf("%s: %+v, not past %+v", n.cfg.Name, tr, first[i])
			}
		}
		return nil
	})
	for _, n := range nodes {
		if tr := n.Traffic(); tr.Suspicions != 0 || tr.Refutations != 0 {
			t.Logf("%s: %+v (a loaded machine may delay a probe)", n.cfg.Name, tr)
		}
	}
}

// TestLogWriter_countsSuspicions: memberlist's suspicion and refutation
// lines are counted whatever the log level.
func TestLogWriter_countsSuspicions(t *testing.T) {
	var c trafficCounts
	l := newMemberlistLogger(slog.New(slog.DiscardHandler), &c)
	l.Print("[INFO] memberlist: Suspect n2 has failed, no acks received")
	l.Print("[INFO] memberlist: Suspect n3 has failed, no acks received")
	l.Print("[WARN] memberlist: Refuting a suspect message (from: n1)")
	l.Print("[DEBUG] memberlist: Failed UDP ping: n2 (timeout reached)")
	if got := c.snapshot(); got.Suspicions != 2 || got.Refutations != 1 {
		t.Fatalf("counts %+v, want 2 suspicions and 1 refutation", got)
	}
}
