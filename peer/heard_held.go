package peer

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/roster-io/roster/store"
)

// A node restarted at once, before its peers noticed it die, may find that
// they never took its partitions over: gossip can take its new
// incarnation's "not ready" straight to "ready" on some of them, and those
// keep treating the partitions as its own. No member then reports them to
// it, and it would give their instances fresh timeouts. Its peers still
// hold the last report its former incarnation sent them, so at start-up it
// asks one for that report back: POST /internal/v1/heard/held answers,
// partition by partition, the report the answering node holds from the
// asking member, as a takeover would read it (store.Hint), with its times
// as ages back from the answer.

// heldMaxBody bounds the request (an empty object).
const heldMaxBody = 1 << 10

// heldPart is one partition's report as held: its quiet instances (as in
// heardPart), how long ago it arrived and how long ago it last held.
type heldPart struct {
	Partition int    `json:"p"`
	Quiet     []byte `json:"quiet,omitempty"`
	AtMS      int64  `json:"at_ms"`
	UntilMS   int64  `json:"until_ms"`
}

// heldReply is the answer: the ring's size and the partitions.
type heldReply struct {
	Partitions int        `json:"partitions"`
	Parts      []heldPart `json:"parts,omitempty"`
}

// HeldHeard asks m for the last report it holds from this node, and
// returns it by partition with its times on this node's clock.
func (t *Transport) HeldHeard(ctx context.Context, m Member, count int) (map[int]*store.Hint, error) {
	var reply heldReply
	if err := t.call(ctx, KindHeard, m, http.MethodPost, "/internal/v1/heard/held", struct{}{}, &reply); err != nil {
		return nil, err
	}
	return reply.decode(count, t.cfg.Now())
}

// decode checks the reply against a ring of count partitions and returns
// its hints, now being when it arrived: the same ring size, each partition
// in range and named once, whole quiet entries in ascending IDs, ages
// within maxQuietAge and a report's last hold no earlier than its arrival.
func (r *heldReply) decode(count int, now time.Time) (map[int]*store.Hint, error) {
	if r.Partitions != count {
		return nil, fmt.Errorf("peer: heard held: partitions: %d for a ring of %d", r.Partitions, count)
	}
	out := make(map[int]*store.Hint, len(r.Parts))
	for i, p := range r.Parts {
		switch {
		case p.Partition < 0 || p.Partition >= count:
			return nil, fmt.Errorf("peer: heard held: parts[%d].p: %d is not a partition of a ring of %d", i, p.Partition, count)
		case out[p.Partition] != nil:
			return nil, fmt.Errorf("peer: heard held: parts[%d].p: partition %d named twice", i, p.Partition)
		case p.AtMS < 0 || p.AtMS > maxQuietAge.Milliseconds() || p.UntilMS < 0 || p.UntilMS > p.AtMS:
			return nil, fmt.Errorf("peer: heard held: parts[%d]: at_ms %d and until_ms %d, want 0 <= until_ms <= at_ms <= %d", i, p.AtMS, p.UntilMS, maxQuietAge.Milliseconds())
		}
		q, err := decodeQuiet(p.Quiet)
		if err != nil {
			return nil, fmt.Errorf("peer: heard held: parts[%d].quiet: %w", i, err)
		}
		out[p.Partition] = &store.Hint{At: now.Add(-time.Duration(p.AtMS) * time.Millisecond),
			Until: now.Add(-time.Duration(p.UntilMS) * time.Millisecond), Quiet: q}
	}
	return out, nil
}

// heardHeld handles POST /internal/v1/heard/held.
func (s *Server) heardHeld(w http.ResponseWriter, r *http.Request, from Member) {
	var req struct{}
	if err := readBody(r, &req, heldMaxBody, s.stats); err != nil {
		s.refused(from, err)
		writeError(w, err)
		return
	}
	now := s.t.cfg.Now()
	reply := heldReply{Partitions: s.recv.PartitionCount()}
	for p, h := range s.recv.HeldHeard(from.Name) {
		part := heldPart{Partition: p, AtMS: max(now.Sub(h.At), 0).Milliseconds(), UntilMS: max(now.Sub(h.Until), 0).Milliseconds()}
		part.AtMS = min(part.AtMS, maxQuietAge.Milliseconds())
		part.UntilMS = min(part.UntilMS, part.AtMS)
		part.Quiet = appendQuiet(nil, h.Quiet)
		reply.Parts = append(reply.Parts, part)
	}
	writeJSON(w, http.StatusOK, &reply)
}
