package peer

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/roster-io/roster/store"
)

// A node that turns ready takes over partitions from the last-heard
// reports their owners sent it while it synced (node.awaitReports). Two
// cases leave it without one. Restarted at once, before its peers noticed
// it die, it may find that some never took its partitions over: gossip can
// take its new incarnation's "not ready" straight to "ready" on them, and
// they keep treating the partitions as its own, so no member reports
// them. And an owner's report can be slower to come than the node waits
// for it. Its peers hold the last report of every partition, its former
// incarnation's among them, so at start-up it asks the peer it synced
// from for them: POST /internal/v1/heard/held answers, partition by
// partition, the last report the answering node holds, who sent it, and
// how a takeover would read it (store.Hint), with its times as ages back
// from the answer.

// heldMaxBody bounds the request (an empty object).
const heldMaxBody = 1 << 10

// heldPart is one partition's report as held: who sent it, its quiet
// instances (as in heardPart), how long ago it arrived and how long ago it
// last held.
type heldPart struct {
	Partition int    `json:"p"`
	From      string `json:"from"`
	Quiet     []byte `json:"quiet,omitempty"`
	AtMS      int64  `json:"at_ms"`
	UntilMS   int64  `json:"until_ms"`
}

// Held is one partition's last report as a node holds it: its sender and
// how a takeover from it would read it.
type Held struct {
	From string
	Hint *store.Hint
}

// maxHeldFrom bounds a sender's name in a reply.
const maxHeldFrom = 256

// heldReply is the answer: the ring's size and the partitions.
type heldReply struct {
	Partitions int        `json:"partitions"`
	Parts      []heldPart `json:"parts,omitempty"`
}

// HeldHeard asks m for the last report it holds of each partition, and
// returns them by partition with their times on this node's clock.
func (t *Transport) HeldHeard(ctx context.Context, m Member, count int) (map[int]Held, error) {
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
func (r *heldReply) decode(count int, now time.Time) (map[int]Held, error) {
	if r.Partitions != count {
		return nil, fmt.Errorf("peer: heard held: partitions: %d for a ring of %d", r.Partitions, count)
	}
	out := make(map[int]Held, len(r.Parts))
	for i, p := range r.Parts {
		_, dup := out[p.Partition]
		switch {
		case p.Partition < 0 || p.Partition >= count:
			return nil, fmt.Errorf("peer: heard held: parts[%d].p: %d is not a partition of a ring of %d", i, p.Partition, count)
		case dup:
			return nil, fmt.Errorf("peer: heard held: parts[%d].p: partition %d named twice", i, p.Partition)
		case p.From == "" || len(p.From) > maxHeldFrom:
			return nil, fmt.Errorf("peer: heard held: parts[%d].from: %d bytes, want 1 to %d", i, len(p.From), maxHeldFrom)
		case p.AtMS < 0 || p.AtMS > maxQuietAge.Milliseconds() || p.UntilMS < 0 || p.UntilMS > p.AtMS:
			return nil, fmt.Errorf("peer: heard held: parts[%d]: at_ms %d and until_ms %d, want 0 <= until_ms <= at_ms <= %d", i, p.AtMS, p.UntilMS, maxQuietAge.Milliseconds())
		}
		q, err := decodeQuiet(p.Quiet)
		if err != nil {
			return nil, fmt.Errorf("peer: heard held: parts[%d].quiet: %w", i, err)
		}
		out[p.Partition] = Held{From: p.From, Hint: &store.Hint{At: now.Add(-time.Duration(p.AtMS) * time.Millisecond),
			Until: now.Add(-time.Duration(p.UntilMS) * time.Millisecond), Quiet: q}}
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
	for p, held := range s.recv.HeldHeard(from.Name) {
		h := held.Hint
		part := heldPart{Partition: p, From: held.From, AtMS: max(now.Sub(h.At), 0).Milliseconds(), UntilMS: max(now.Sub(h.Until), 0).Milliseconds()}
		part.AtMS = min(part.AtMS, maxQuietAge.Milliseconds())
		part.UntilMS = min(part.UntilMS, part.AtMS)
		part.Quiet = appendQuiet(nil, h.Quiet)
		reply.Parts = append(reply.Parts, part)
	}
	writeJSON(w, http.StatusOK, &reply)
}
