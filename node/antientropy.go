package node

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/roster-io/roster/store"
)

// Anti-entropy. Every AntiEntropyInterval (jittered so nodes do not run
// in lockstep) a node asks a random synced peer to compare registries.
// First only a hash of the node's per-partition digest vector travels: when
// replicas agree that is the whole exchange, a few hundred bytes whatever
// the registry size. When it differs, the peer answers its digest vector
// (8 bytes per partition); the node pulls the peer's records of the
// partitions that differ, merges them, and pushes its own records of the
// same partitions back, so both sides converge.

// digestRequest is the body of POST /internal/v1/digest.
type digestRequest struct {
	Root uint64 `json:"root"`
}

// digestReply answers it: Equal, or the peer's digests (little-endian
// uint64s, base64 in JSON).
type digestReply struct {
	Equal   bool   `json:"equal"`
	Digests []byte `json:"digests,omitempty"`
}

// pullRequest is the body of POST /internal/v1/pull: the records of the
// partitions, or with IDs (little-endian uint64s, base64 in JSON) only
// those records of them.
type pullRequest struct {
	Partitions []int  `json:"partitions"`
	IDs        []byte `json:"ids,omitempty"`
}

// runAntiEntropy runs exchanges until the node stops.
func (n *Node) runAntiEntropy() {
	defer n.wg.Done()
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
		var ready []member
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
func (n *Node) exchange(m member, all bool) (int, error) {
	ctx, cancel := context.WithTimeout(n.ctx, n.cfg.SyncTimeout)
	defer cancel()
	mine := n.store.Digests()
	var reply digestReply
	if err := n.peers.call(ctx, m.Name, m.HTTPAddr, http.MethodPost, "/internal/v1/digest",
		&digestRequest{Root: digestRoot(mine)}, &reply); err != nil {
		return 0, err
	}
	if reply.Equal {
		return 0, nil
	}
	diff := diffDigests(mine, decodeDigests(reply.Digests))
	if len(diff) == 0 {
		return 0, nil
	}
	var sums summaryReply
	if err := n.peers.call(ctx, m.Name, m.HTTPAddr, http.MethodPost, "/internal/v1/summary", &summaryRequest{Partitions: diff}, &sums); err != nil {
		return 0, err
	}
	if len(sums.Summaries) != len(diff) {
		return 0, fmt.Errorf("node: summary from %s: %d partitions for %d asked", m.Name, len(sums.Summaries), len(diff))
	}
	cutoff := int64(math.MaxInt64)
	if !all {
		cutoff = n.cfg.Now().Add(-n.cfg.AntiEntropyInterval).UnixNano()
	}
	ours := n.store.Summaries(diff)
	var repair []int
	d := summaryDiff{pull: map[uint64]bool{}, push: map[uint64]bool{}}
	for i, p := range diff {
		theirs, ok := store.ParseSummary(sums.Summaries[i])
		if !ok {
			return 0, fmt.Errorf("node: summary of partition %d from %s: bad length", p, m.Name)
		}
		before := len(d.pull) + len(d.push)
		flying := d.inFlight
		compareSummaries(ours[i], theirs, cutoff, &d)
		switch {
		case len(d.pull)+len(d.push) > before:
			repair = append(repair, p)
		case d.inFlight > flying:
			n.stats.aeDeferred.Add(1)
		}
	}
	if len(repair) == 0 {
		return 0, nil
	}
	if len(d.pull) > 0 {
		var got deltasRequest
		if err := n.peers.call(ctx, m.Name, m.HTTPAddr, http.MethodPost, "/internal/v1/pull",
			&pullRequest{Partitions: repair, IDs: encodeIDs(d.pull)}, &got); err != nil {
			return len(repair), err
		}
		n.merge(got.Records, false)
	}
	if len(d.push) > 0 {
		if recs := n.store.RecordsByID(repair, d.push); len(recs) > 0 {
			if err := n.peers.call(ctx, m.Name, m.HTTPAddr, http.MethodPost, "/internal/v1/deltas", &deltasRequest{Records: recs, Repair: true}, nil); err != nil {
				return len(repair), err
			}
		}
	}
	return len(repair), nil
}

// digestRoot hashes a digest vector.
func digestRoot(d []uint64) uint64 {
	h := fnv.New64a()
	h.Write(encodeDigests(d))
	return h.Sum64()
}

// encodeDigests packs digests as little-endian uint64s.
func encodeDigests(d []uint64) []byte {
	b := make([]byte, 8*len(d))
	for i, v := range d {
		binary.LittleEndian.PutUint64(b[8*i:], v)
	}
	return b
}

// decodeDigests unpacks encodeDigests' output; a trailing partial word is
// ignored.
func decodeDigests(b []byte) []uint64 {
	d := make([]uint64, len(b)/8)
	for i := range d {
		d[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	return d
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
