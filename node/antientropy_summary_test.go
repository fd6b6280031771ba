package node

import (
	"maps"
	"slices"
	"testing"

	"github.com/roster-io/roster/store"
)

func TestCompareSummaries(t *testing.T) {
	const cutoff = 1000
	e := func(id uint64, clock int64, hash uint64) store.SummaryEntry {
		return store.SummaryEntry{ID: id, Clock: clock, Hash: hash}
	}
	tests := []struct {
		name         string
		mine, theirs []store.SummaryEntry
		pull, push   []uint64
		inFlight     int
	}{
		{name: "equal", mine: []store.SummaryEntry{e(1, 10, 7)}, theirs: []store.SummaryEntry{e(1, 10, 7)}},
		{name: "theirs newer and settled", mine: []store.SummaryEntry{e(1, 10, 7)}, theirs: []store.SummaryEntry{e(1, 20, 8)}, pull: []uint64{1}},
		{name: "mine newer and settled", mine: []store.SummaryEntry{e(1, 30, 9)}, theirs: []store.SummaryEntry{e(1, 20, 8)}, push: []uint64{1}},
		{name: "only theirs", theirs: []store.SummaryEntry{e(2, 20, 8)}, pull: []uint64{2}},
		{name: "only mine", mine: []store.SummaryEntry{e(3, 20, 8)}, push: []uint64{3}},
		{name: "same clock, other version", mine: []store.SummaryEntry{e(1, 20, 7)}, theirs: []store.SummaryEntry{e(1, 20, 8)}, pull: []uint64{1}, push: []uint64{1}},
		{name: "theirs in flight", mine: []store.SummaryEntry{e(1, 10, 7)}, theirs: []store.SummaryEntry{e(1, 1001, 8)}, inFlight: 1},
		{name: "new record in flight", mine: []store.SummaryEntry{e(4, 1500, 8)}, inFlight: 1},
		{name: "mixed", mine: []store.SummaryEntry{e(1, 10, 7), e(3, 1200, 5), e(5, 40, 6)},
			theirs: []store.SummaryEntry{e(1, 10, 7), e(2, 50, 4), e(5, 30, 3)}, pull: []uint64{2}, push: []uint64{5}, inFlight: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := summaryDiff{pull: map[uint64]bool{}, push: map[uint64]bool{}}
			compareSummaries(tt.mine, tt.theirs, cutoff, &d)
			if got := slices.Sorted(maps.Keys(d.pull)); !slices.Equal(got, tt.pull) {
				t.Errorf("pull: got %v, want %v", got, tt.pull)
			}
			if got := slices.Sorted(maps.Keys(d.push)); !slices.Equal(got, tt.push) {
				t.Errorf("push: got %v, want %v", got, tt.push)
			}
			if d.inFlight != tt.inFlight {
				t.Errorf("in flight: got %d, want %d", d.inFlight, tt.inFlight)
			}
		})
	}
}
