package peer

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/http"

	"github.com/tinylib/msgp/msgp"

	"github.com/roster-io/roster/store"
)

// Summaries by sub-digest bucket (store/subdigest.go). The initiator of
// an exchange sends its sub-digests of the partitions whose digests
// differ; the peer answers the summaries of only the buckets whose
// sub-digests differ from its own, with the masks of those buckets, and
// the initiator compares its summaries of the same buckets. A peer of a
// build without the endpoint answers 404 and is asked the whole
// summaries (/internal/v1/summary) instead.

// subSummaryRequest is the body of POST /internal/v1/summary/sub.
type subSummaryRequest struct {
	Partitions []int `json:"partitions"`
	// Subs holds, per partition in order, the sender's sub-digests
	// (store.SubBytes), or nothing to compare the partition whole.
	Subs [][]byte `json:"subs"`
}

// subSummaryReply answers it: per partition asked for, in order, the
// mask of the buckets summarized and their records' summary
// (store.AppendSummary).
type subSummaryReply struct {
	Masks     []uint64 `json:"masks"`
	Summaries [][]byte `json:"summaries"`
}

// MarshalMsg encodes the reply as an array of the masks (8 bytes each,
// little-endian) and the summaries.
func (s *subSummaryReply) MarshalMsg(b []byte) ([]byte, error) {
	b = msgp.AppendArrayHeader(b, 2)
	b = msgp.AppendBytes(b, encodeWords(s.Masks))
	return (&summaryReply{Summaries: s.Summaries}).MarshalMsg(b)
}

// UnmarshalMsg decodes what MarshalMsg wrote.
func (s *subSummaryReply) UnmarshalMsg(b []byte) ([]byte, error) {
	n, b, err := msgp.ReadArrayHeaderBytes(b)
	if err != nil || n != 2 {
		return nil, fmt.Errorf("%w: summary by bucket: want 2 parts, got %d (%v)", errBadMsgpack, n, err)
	}
	masks, b, err := msgp.ReadBytesZC(b)
	if err != nil || len(masks)%8 != 0 {
		return nil, fmt.Errorf("%w: summary by bucket: masks of %d bytes (%v)", errBadMsgpack, len(masks), err)
	}
	s.Masks = make([]uint64, len(masks)/8)
	for i := range s.Masks {
		s.Masks[i] = binary.LittleEndian.Uint64(masks[8*i:])
	}
	var sums summaryReply
	b, err = sums.UnmarshalMsg(b)
	s.Summaries = sums.Summaries
	return b, err
}

// subSummary handles POST /internal/v1/summary/sub.
func (s *Server) subSummary(w http.ResponseWriter, r *http.Request, from Member) {
	var req subSummaryRequest
	if !s.readPartitions(w, r, &req, &req.Partitions) {
		return
	}
	st := s.recv.Store()
	masks, ok := st.DiffSubs(req.Partitions, req.Subs)
	if !ok {
		writeError(w, &RemoteError{Status: http.StatusBadRequest, Msg: fmt.Sprintf(
			"peer: summary by bucket: subs: %d entries for %d partitions; each must be empty or %d bytes",
			len(req.Subs), len(req.Partitions), store.SubBytes)})
		return
	}
	sums := st.SummariesIn(req.Partitions, masks)
	out := subSummaryReply{Masks: masks, Summaries: make([][]byte, len(sums))}
	for i, es := range sums {
		out.Summaries[i] = store.AppendSummary(make([]byte, 0, len(es)*store.SummaryEntryBytes), es)
	}
	writeBody(w, r, http.StatusOK, &out)
}

// SubSummaries asks m for the summaries of the buckets of parts whose
// sub-digests differ from subs (store.SubDigests, in the order of parts)
// and returns them with the masks of the buckets they hold. A peer
// without the endpoint is asked for the whole summaries (masks all
// store.AllBuckets).
func (t *Transport) SubSummaries(ctx context.Context, m Member, parts []int, subs [][]byte) ([][]store.SummaryEntry, []uint64, error) {
	var rep subSummaryReply
	err := t.call(ctx, KindAntiEntropy, m, http.MethodPost, "/internal/v1/summary/sub", &subSummaryRequest{Partitions: parts, Subs: subs}, &rep)
	if answerStatus(err) == http.StatusNotFound {
		sums, err := t.Summaries(ctx, m, parts)
		masks := make([]uint64, len(parts))
		for i := range masks {
			masks[i] = store.AllBuckets
		}
		return sums, masks, err
	}
	if err != nil {
		return nil, nil, err
	}
	if len(rep.Masks) != len(parts) || len(rep.Summaries) != len(parts) {
		return nil, nil, fmt.Errorf("peer: summary by bucket from %s: %d masks and %d summaries for %d partitions asked",
			m.Name, len(rep.Masks), len(rep.Summaries), len(parts))
	}
	out := make([][]store.SummaryEntry, len(parts))
	for i, p := range parts {
		es, ok := store.ParseSummary(rep.Summaries[i])
		if !ok {
			return nil, nil, fmt.Errorf("peer: summary by bucket of partition %d from %s: bad length", p, m.Name)
		}
		out[i] = es
	}
	return out, rep.Masks, nil
}
