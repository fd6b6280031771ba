package gossip

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// TestGossip_introduceTeachesTheMemberAtOnce: a node that introduces
// itself to a member that does not know it is known to that member (and
// knows it) when Introduce returns, without waiting for epidemic gossip
// or a periodic full exchange: here nothing else could teach them, as
// neither has a seed.
func TestGossip_introduceTeachesTheMemberAtOnce(t *testing.T) {
	a, b := startNode(t, testConfig(t, "a")), startNode(t, testConfig(t, "b"))
	if got := memberNames(a.Members()); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("a's members before the introduction: %v, want [a]", got)
	}
	if err := b.Introduce(a.LocalMember().Addr); err != nil {
		t.Fatalf("Introduce: %v", err)
	}
	// The exchange is merged before Join returns; the view follows the
	// event pump, so allow it a moment.
	waitFor(t, time.Second, func() error {
		for _, n := range []*testNode{a, b} {
			if got := memberNames(n.Members()); !slices.Equal(got, []string{"a", "b"}) {
				return fmt.Errorf("%s: members %v, want [a b]", n.cfg.Name, got)
			}
		}
		return nil
	})
	if err := b.Introduce("127.0.0.1:1"); err == nil {
		t.Errorf("Introduce to an address nobody listens on: no error")
	}
}
