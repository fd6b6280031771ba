package node

import (
	"math"

	"github.com/roster-io/roster/store"
)

// Summary comparison (store/summary.go). For the partitions whose digests
// differ, the initiator of an exchange fetches the peer's record
// summaries and compares them with its own. A record that differs only
// because its newer version was written within the last anti-entropy
// interval is a delta still in flight and is left to it; the rest — what one side
// really missed — is pulled and pushed by record, not by partition. A
// difference left to the deltas that has not healed by the next round is
// older than that then, and repaired.

// summaryDiff is what comparing two replicas' summaries found.
type summaryDiff struct {
	pull, push map[uint64]bool // record IDs to fetch from the peer, to send it
	inFlight   int             // differing records left to the deltas in flight
}

// compareSummaries compares one partition's summaries, both sorted by
// ID, into d. A differing record whose newer version is newer than
// cutoff (Unix ns) counts as in flight.
func compareSummaries(mine, theirs []store.SummaryEntry, cutoff int64, d *summaryDiff) {
	i, j := 0, 0
	for i < len(mine) || j < len(theirs) {
		var m, t *store.SummaryEntry
		switch {
		case j == len(theirs) || i < len(mine) && mine[i].ID < theirs[j].ID:
			m = &mine[i]
			i++
		case i == len(mine) || theirs[j].ID < mine[i].ID:
			t = &theirs[j]
			j++
		default:
			m, t = &mine[i], &theirs[j]
			i, j = i+1, j+1
			if m.Hash == t.Hash {
				continue
			}
		}
		newer := int64(math.MinInt64)
		if m != nil {
			newer = m.Clock
		}
		if t != nil {
			newer = max(newer, t.Clock)
		}
		if newer > cutoff {
			d.inFlight++
			continue
		}
		if t != nil && (m == nil || t.Clock >= m.Clock) {
			d.pull[t.ID] = true
		}
		if m != nil && (t == nil || m.Clock >= t.Clock) {
			d.push[m.ID] = true
		}
	}
}
