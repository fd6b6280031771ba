package node

import (
	"context"
	"math"
	"math/rand/v2"
	"time"

	"github.com/roster-io/roster/store"
)

// Anti-entropy. Every AntiEntropyInterval (jittered so nodes do not run
// in lockstep) a node asks a random synced peer to compare registries.
// First only a hash of the node's per-partition digest vector travels: when
// replicas agree that is the whole exchange, a few hundred bytes whatever
// the registry size. When it differs, the peer answers its digest vector
// (8 bytes per partition). For the partitions that differ the node sends
// its sub-digests (64 per partition, store/subdigest.go), and the peer
// answers the record summaries of the buckets that differ; the node
// compares them with its own (antientropy_summary.go), pulls the records
// it misses, merges them, and pushes back the ones the peer misses, so
// both sides converge.

// runAntiEntropy runs exchanges until the node stops.
func (n *Node) runAntiEntropy() {
	for {
		d := n.cfg.AntiEntropyInterval
		d = d/2 + rand.N(d/2+1)
		select {
		case <-n.ctx.Done():
			return
		case <-time.After(d):
		}
		if !n.synced.Load() {
			continue
		}
		var ready []Member
		for _, m := range n.cluster.memberList() {
			if m.Ready && !m.Self && m.HTTPAddr != "" {
				ready = append(ready, m)
			}
		}
		if len(ready) == 0 {
			continue
		}
		m := ready[rand.N(len(ready))]
		repaired, err := n.exchange(m, false)
		n.countExchange(m.Name, repaired, err, "")
	}
}

// countExchange records the outcome of one exchange with peer in the
// metrics and the log; why, if set, says what started it.
func (n *Node) countExchange(peer string, repaired int, err error, why string) {
	switch {
	case err != nil:
		n.stats.aeFailed.Add(1)
		n.log.Debug("anti-entropy exchange failed", "peer", peer, "err", err, "why", why)
	case repaired > 0:
		n.stats.aeRepaired.Add(1)
		n.stats.aePartitions.Add(uint64(repaired))
		args := []any{"peer", peer, "partitions", repaired}
		if why != "" {
			args = append(args, "why", why)
		}
		n.log.Info("anti-entropy repaired partitions", args...)
	default:
		n.stats.aeEqual.Add(1)
	}
}

// exchange compares registries with m and repairs both sides. It returns
// the number of partitions that needed repair. Unless all is set,
// differences that are deltas still in flight are left to them
// (antientropy_summary.go).
func (n *Node) exchange(m Member, all bool) (int, error) {
	ctx, cancel := context.WithTimeout(n.ctx, n.cfg.SyncTimeout)
	defer cancel()
	mine := n.store.Digests()
	theirs, equal, err := n.peers.Digests(ctx, m.Member, mine)
	if err != nil || equal {
		return 0, err
	}
	diff := diffDigests(mine, theirs)
	if len(diff) == 0 {
		return 0, nil
	}
	sums, masks, err := n.peers.SubSummaries(ctx, m.Member, diff, n.store.SubDigests(diff))
	if err != nil {
		return 0, err
	}
	cutoff := int64(math.MaxInt64)
	if !all {
		cutoff = n.cfg.Now().Add(-n.cfg.AntiEntropyInterval).UnixNano()
	}
	repair, d := n.compare(diff, masks, sums, cutoff)
	if len(repair) == 0 {
		return 0, nil
	}
	if len(d.pull) > 0 {
		recs, err := n.peers.Pull(ctx, m.Member, repair, d.pull)
		if err != nil {
			return len(repair), err
		}
		n.Merge(recs, false)
	}
	if len(d.push) > 0 {
		if recs := n.store.RecordsByID(repair, d.push); len(recs) > 0 {
			if err := n.peers.Repair(ctx, m.Member, recs); err != nil {
				return len(repair), err
			}
		}
	}
	return len(repair), nil
}

// compare compares this node's summaries of the buckets masks names of
// the partitions diff with theirs and returns the partitions that need
// repair and what to pull and push; partitions whose differences are all
// in flight are counted as deferred.
func (n *Node) compare(diff []int, masks []uint64, theirs [][]store.SummaryEntry, cutoff int64) ([]int, summaryDiff) {
	ours := n.store.SummariesIn(diff, masks)
	var repair []int
	d := summaryDiff{pull: map[uint64]bool{}, push: map[uint64]bool{}}
	for i, p := range diff {
		n.stats.aeCompared.Add(1)
		n.stats.aeSummarized.Add(uint64(len(ours[i]) + len(theirs[i])))
		before := len(d.pull) + len(d.push)
		flying := d.inFlight
		compareSummaries(ours[i], theirs[i], cutoff, &d)
		switch {
		case len(d.pull)+len(d.push) > before:
			repair = append(repair, p)
		case d.inFlight > flying:
			n.stats.aeDeferred.Add(1)
		}
	}
	return repair, d
}

// diffDigests returns the partitions whose digests differ.
func diffDigests(mine, theirs []uint64) []int {
	var out []int
	for p := range mine {
		if p >= len(theirs) || mine[p] != theirs[p] {
			out = append(out, p)
		}
	}
	return out
}
