package node

import (
	"context"
	"fmt"
	"net/http"

	"github.com/roster-io/roster/peer"
	"github.com/roster-io/roster/store"
)

// Durability. With a durable log attached (package durable, set by the
// agent before Start), a client write of a persistent instance or a
// service record is acknowledged only once the log has it on disk: the
// store hands every applied record to the log (store.Journal), and the
// write path waits for the log's next commit, which many writes share.

// Durable is what the write path needs of the durable log.
type Durable interface {
	// Sync returns once everything queued before the call is on disk.
	Sync(ctx context.Context) error
}

// SetDurable attaches the durable log; call it before Start.
func (n *Node) SetDurable(d Durable) { n.durable = d }

// notDurableError is a write that is applied but could not be made
// durable: 503, like a write no peer confirmed.
type notDurableError struct{ err error }

func (e *notDurableError) Error() string {
	return fmt.Sprintf("node: write applied but not on disk (%v); retry it", e.err)
}
func (e *notDurableError) Unwrap() error   { return e.err }
func (e *notDurableError) HTTPStatus() int { return http.StatusServiceUnavailable }

// persist waits until recs are on disk, when they are records the log
// keeps: persistent instances (and their tombstones) and service records.
func (n *Node) persist(ctx context.Context, recs []store.Record) error {
	if n.durable == nil || !durableRecords(recs) {
		return nil
	}
	if err := n.durable.Sync(ctx); err != nil {
		return &notDurableError{err: err}
	}
	return nil
}

// durableRecords reports whether any of recs is kept on disk.
func durableRecords(recs []store.Record) bool {
	for _, r := range recs {
		if r.Service != nil || (r.Instance != nil && !r.Instance.Ephemeral) {
			return true
		}
	}
	return false
}

// Restore merges records from a snapshot into the registry, as records
// from a peer merge: a record newer than the one held wins, so a restore
// never undoes a later write. Each record is validated as strictly as a
// peer's; one invalid record refuses the whole restore. The records are
// then replicated, and the call returns once this node's disk and a peer
// hold them, like a client write. It returns how many records were newer
// than what the node held.
func (n *Node) Restore(ctx context.Context, recs []store.Record) (int, error) {
	if err := n.checkWritable(); err != nil {
		return 0, err
	}
	for i := range recs {
		if err := peer.CheckRecord(&recs[i]); err != nil {
			return 0, fmt.Errorf("node: snapshot record %d: %w", i, err)
		}
	}
	applied := 0
	for _, r := range recs {
		switch {
		case r.Instance != nil && n.store.Merge(r.Key, *r.Instance):
			applied++
		case r.Service != nil && n.store.MergeService(r.Key, *r.Service):
			applied++
		}
	}
	for len(recs) > 0 { // in batches a peer's delta queue takes at once
		batch := recs[:min(len(recs), 256)]
		recs = recs[len(batch):]
		if err := n.replicate(ctx, batch, true); err != nil {
			return applied, err
		}
	}
	return applied, nil
}
