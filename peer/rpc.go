package peer

import (
	"context"
	"fmt"
	"net/http"

	"github.com/roster-io/roster/store"
)

// Requests that are not queued: start-up sync, anti-entropy and the ready
// hint. Each is one request, bounded by ctx and Config.Timeout.

// Digests compares digest vectors with m: equal when m's root matches
// mine, else m's vector.
func (t *Transport) Digests(ctx context.Context, m Member, mine []uint64) (theirs []uint64, equal bool, err error) {
	var reply digestReply
	if err := t.call(ctx, KindAntiEntropy, m, http.MethodPost, "/internal/v1/digest",
		&digestRequest{Root: DigestRoot(mine)}, &reply); err != nil {
		return nil, false, err
	}
	if reply.Equal {
		return nil, true, nil
	}
	return decodeWords(reply.Digests), false, nil
}

// Summaries fetches m's record summaries of the partitions, in order.
func (t *Transport) Summaries(ctx context.Context, m Member, parts []int) ([][]store.SummaryEntry, error) {
	var sums summaryReply
	if err := t.call(ctx, KindAntiEntropy, m, http.MethodPost, "/internal/v1/summary", &summaryRequest{Partitions: parts}, &sums); err != nil {
		return nil, err
	}
	if len(sums.Summaries) != len(parts) {
		return nil, fmt.Errorf("peer: summary from %s: %d partitions for %d asked", m.Name, len(sums.Summaries), len(parts))
	}
	out := make([][]store.SummaryEntry, len(parts))
	for i, p := range parts {
		es, ok := store.ParseSummary(sums.Summaries[i])
		if !ok {
			return nil, fmt.Errorf("peer: summary of partition %d from %s: bad length", p, m.Name)
		}
		out[i] = es
	}
	return out, nil
}

// AnnounceReady tells m this node became ready.
func (t *Transport) AnnounceReady(ctx context.Context, m Member) error {
	return t.call(ctx, KindSync, m, http.MethodPost, "/internal/v1/ready", nil, nil)
}
