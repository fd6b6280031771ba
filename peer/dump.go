package peer

import (
	"context"
	"net/http"
	"time"

	"github.com/roster-io/roster/store"
)

// Large bodies over the stream. A frame holds at most streamMaxFrame
// (1 MiB), and the start-up dump, an anti-entropy pull or a repair push
// can be far larger. Over a stream they travel in pages:
//
//   - The dump is a series of pulls of every partition, a page of
//     partitions at a time, each sized from the bytes per partition seen
//     so far to about streamPageBytes. A page whose answer would not fit
//     a frame (the peer answers "use HTTP") is asked again as two halves;
//     a single partition whose records do not fit a frame is pulled over
//     HTTP. Pulls exist on every build with the stream, so a peer of an
//     older build answers them too. The pages are not one snapshot, but
//     records merge by version and every write after a page was read
//     reaches this node as a delta (it is a member by then), so the
//     result is the same.
//   - An anti-entropy pull is paged the same way.
//   - A repair push is split into requests of about streamDeltaBytes.
//
// Without a stream to the peer (for a dump, none within dumpWait), each
// is one HTTP request.

// streamPageBytes is the size a page of pulled records aims at: a
// quarter of a frame, so an uneven page still fits.
const streamPageBytes = streamMaxFrame / 4

// dumpWait is how long a dump waits for a stream to m to come up (a
// node that just joined syncs before its peers have connected to it).
const dumpWait = time.Second

// Dump fetches every record m holds.
func (t *Transport) Dump(ctx context.Context, m Member) ([]store.Record, error) {
	if parts := t.partitionCount(); parts > 0 && t.awaitStream(ctx, m, dumpWait) {
		all := make([]int, parts)
		for i := range all {
			all[i] = i
		}
		return t.pullPages(ctx, KindSync, m, all, nil)
	}
	var d dumpReply
	if err := t.call(ctx, KindSync, m, http.MethodGet, "/internal/v1/dump", nil, &d); err != nil {
		return nil, err
	}
	return d.Records, nil
}

// Pull fetches m's records of the partitions whose IDs are in ids.
func (t *Transport) Pull(ctx context.Context, m Member, parts []int, ids map[uint64]bool) ([]store.Record, error) {
	var enc []byte
	if len(ids) > 0 {
		enc = encodeIDs(ids)
	}
	if t.streamUp(m) {
		return t.pullPages(ctx, KindAntiEntropy, m, parts, enc)
	}
	var got deltasRequest
	if err := t.call(ctx, KindAntiEntropy, m, http.MethodPost, "/internal/v1/pull",
		&pullRequest{Partitions: parts, IDs: enc}, &got); err != nil {
		return nil, err
	}
	return got.Records, nil
}

// Repair pushes records m missed, outside the replication counters:
// over a stream, in requests of about streamDeltaBytes each.
func (t *Transport) Repair(ctx context.Context, m Member, recs []store.Record) error {
	if !t.streamUp(m) {
		return t.call(ctx, KindAntiEntropy, m, http.MethodPost, deltasPath, &deltasRequest{Records: recs, Repair: true}, nil)
	}
	for len(recs) > 0 {
		n, size := 0, 0
		for n < len(recs) && (n == 0 || size+recs[n].Msgsize() <= streamDeltaBytes) {
			size += recs[n].Msgsize()
			n++
		}
		if err := t.call(ctx, KindAntiEntropy, m, http.MethodPost, deltasPath, &deltasRequest{Records: recs[:n], Repair: true}, nil); err != nil {
			return err
		}
		recs = recs[n:]
	}
	return nil
}

// pullPages pulls m's records of parts (only those in ids, when set) a
// page of partitions at a time.
func (t *Transport) pullPages(ctx context.Context, kind Kind, m Member, parts []int, ids []byte) ([]store.Record, error) {
	var out []store.Record
	page := 64
	for len(parts) > 0 {
		k := min(page, len(parts))
		var got deltasRequest
		req := &pullRequest{Partitions: parts[:k], IDs: ids}
		o, size := notSent, 0
		if t.allowed(m.Name) {
			var err error
			if o, size, err = t.streamTry(ctx, kind, m, "/internal/v1/pull", req, &got); o == answered {
				t.stats.Requests[kind].Add(1)
				if err != nil {
					return nil, err
				}
				t.stats.StreamCalls.Add(1)
			}
		}
		switch {
		case o == useHTTP && k > 1:
			page = k / 2 // too large for a frame: ask again in halves
			continue
		case o != answered:
			// No stream any more, or one partition too large for a
			// frame: this page over HTTP.
			if err := t.c.call(ctx, kind, m.Name, m.HTTPAddr, http.MethodPost, "/internal/v1/pull", req, &got); err != nil {
				return nil, err
			}
		default:
			page = max(1, min(1024, k*streamPageBytes/max(size, 1)))
		}
		out = append(out, got.Records...)
		parts = parts[k:]
	}
	return out, nil
}

// awaitStream waits at most d for a stream to m and reports whether one
// is up.
func (t *Transport) awaitStream(ctx context.Context, m Member, d time.Duration) bool {
	if !t.cfg.Stream || t.linkOf(m) == nil {
		return false
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	timer := time.NewTimer(d)
	defer timer.Stop()
	for !t.streamUp(m) {
		select {
		case <-tick.C:
		case <-timer.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// streamUp reports whether this node sends to m over a stream now.
func (t *Transport) streamUp(m Member) bool {
	if !t.cfg.Stream || !t.allowed(m.Name) {
		return false
	}
	l := t.linkOf(m)
	return l != nil && l.session() != nil
}

// partitionCount is the ring's number of partitions, from the node's
// Server (0: no Server).
func (t *Transport) partitionCount() int {
	if s := t.srv.Load(); s != nil {
		return s.recv.PartitionCount()
	}
	return 0
}
