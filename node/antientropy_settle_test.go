package node

import (
	"slices"
	"testing"
)

func TestSettleSkips(t *testing.T) {
	var s settleSkips
	// Partition 1 is busy here, 2 there, 3 nowhere: only 3 is repaired.
	repair, deferred := s.filter([]int{1, 2, 3}, []int{1, 9}, []int{2})
	if !slices.Equal(repair, []int{3}) || deferred != 2 {
		t.Fatalf("round 1: repair %v deferred %d, want [3] and 2", repair, deferred)
	}
	// Partition 1 stays busy and differing: deferred maxSettleSkips rounds
	// in a row, then repaired whatever happens.
	for round := 2; round <= maxSettleSkips; round++ {
		if repair, _ := s.filter([]int{1}, []int{1}, nil); len(repair) != 0 {
			t.Fatalf("round %d: repaired %v, want it deferred", round, repair)
		}
	}
	if repair, _ := s.filter([]int{1}, []int{1}, nil); !slices.Equal(repair, []int{1}) {
		t.Fatalf("after %d deferrals: repair %v, want [1]", maxSettleSkips, repair)
	}
	// A partition that stopped differing starts from zero again.
	s.filter(nil, nil, nil)
	if repair, deferred := s.filter([]int{1}, []int{1}, nil); len(repair) != 0 || deferred != 1 {
		t.Fatalf("after a clean round: repair %v deferred %d, want deferred again", repair, deferred)
	}
}
