package node

import (
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"

	"github.com/tinylib/msgp/msgp"

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

// summaryRequest is the body of POST /internal/v1/summary.
type summaryRequest struct {
	Partitions []int `json:"partitions"`
}

// summaryReply answers it: one encoded summary per partition asked for,
// in order (store.AppendSummary).
type summaryReply struct {
	Summaries [][]byte `json:"summaries"`
}

// MarshalMsg encodes the reply as an array of binary summaries.
func (s *summaryReply) MarshalMsg(b []byte) ([]byte, error) {
	b = msgp.AppendArrayHeader(b, uint32(len(s.Summaries)))
	for _, sum := range s.Summaries {
		b = msgp.AppendBytes(b, sum)
	}
	return b, nil
}

// UnmarshalMsg decodes what MarshalMsg wrote.
func (s *summaryReply) UnmarshalMsg(b []byte) ([]byte, error) {
	n, b, err := msgp.ReadArrayHeaderBytes(b)
	if err != nil {
		return nil, fmt.Errorf("%w: summaries: %v", errBadMsgpack, err)
	}
	if int(n) > len(b) {
		return nil, fmt.Errorf("%w: summaries: %d claimed in %d bytes", errBadMsgpack, n, len(b))
	}
	s.Summaries = make([][]byte, n)
	for i := range s.Summaries {
		if s.Summaries[i], b, err = msgp.ReadBytesZC(b); err != nil {
			return nil, fmt.Errorf("%w: summary %d: %v", errBadMsgpack, i, err)
		}
	}
	return b, nil
}

// internalSummary handles POST /internal/v1/summary.
func (n *Node) internalSummary(w http.ResponseWriter, r *http.Request, from member) {
	var req summaryRequest
	if !n.readPartitionsRequest(w, r, &req, &req.Partitions) {
		return
	}
	sums := n.store.Summaries(req.Partitions)
	out := summaryReply{Summaries: make([][]byte, len(sums))}
	for i, es := range sums {
		out.Summaries[i] = store.AppendSummary(make([]byte, 0, len(es)*store.SummaryEntryBytes), es)
	}
	writeBody(w, r, http.StatusOK, &out)
}

// readPartitionsRequest decodes an internal JSON request into v and
// refuses the partition numbers in *parts that are outside the ring. On
// a bad request it answers the error and reports false.
func (n *Node) readPartitionsRequest(w http.ResponseWriter, r *http.Request, v any, parts *[]int) bool {
	if err := n.decodeJSONLimit(r, v, internalMaxBody); err != nil {
		jsonError(w, err)
		return false
	}
	count := n.ring.PartitionCount()
	for _, p := range *parts {
		if p < 0 || p >= count {
			jsonError(w, &statusError{status: http.StatusBadRequest, msg: fmt.Sprintf("node: partitions: partition %d outside 0..%d", p, count-1)})
			return false
		}
	}
	return true
}

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

// encodeIDs packs record IDs as little-endian uint64s, as digests are.
func encodeIDs(ids map[uint64]bool) []byte {
	return encodeDigests(slices.Collect(maps.Keys(ids)))
}

// decodeIDs unpacks encodeIDs' output; a trailing partial word is ignored.
func decodeIDs(b []byte) map[uint64]bool {
	ids := map[uint64]bool{}
	for _, id := range decodeDigests(b) {
		ids[id] = true
	}
	return ids
}
