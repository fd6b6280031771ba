package node

import (
	"context"
	"fmt"

	"github.com/roster-io/roster/store"
)

// ItemError is the error of one item of a batch refused whole: Index
// names the item, Err says why (a *param.FieldError naming the item's
// own field, for a front door to qualify).
type ItemError struct {
	Index int
	Err   error
}

func (e *ItemError) Error() string { return fmt.Sprintf("node: item %d: %v", e.Index, e.Err) }

func (e *ItemError) Unwrap() error { return e.Err }

// RegisterMany stores the registrations of items as Register would one by
// one, in order, and returns one outcome per item. The batch is checked
// first (the node writable, every item's metadata within its bound): a
// failed check refuses it whole (an *ItemError names the item) and writes
// nothing. A limit that refuses one item fails that item's outcome only.
// The items written are applied with one hold of the store's lock per
// chunk and replicated together, as one delta to each peer; the call
// returns once a peer confirmed them all, or past ReplicationTimeout as
// held here alone, as Register does. The error, when the batch was
// written, is the replication's (ErrNotReplicated, or the durable log's):
// it concerns every item whose outcome has no error of its own.
func (n *Node) RegisterMany(ctx context.Context, items []store.RegisterItem) ([]store.RegisterOutcome, error) {
	if err := n.checkWritable(); err != nil {
		return nil, err
	}
	for i := range items {
		if err := n.checkMetadata("metadata", items[i].In.Metadata); err != nil {
			return nil, &ItemError{Index: i, Err: err}
		}
	}
	out := make([]store.RegisterOutcome, len(items))
	n.store.RegisterManyWithin(items, n.instanceLimits(), out)
	// The records own copies: the peers' queues may hold them after the
	// answer.
	held := make([]store.Instance, 0, len(items))
	for i := range out {
		if out[i].Err != nil {
			out[i].Err = limitError(out[i].Err)
			continue
		}
		held = append(held, out[i].Instance)
	}
	recs := make([]store.Record, 0, len(held))
	for i := range out {
		if out[i].Err == nil {
			recs = append(recs, store.Record{Key: items[i].Key, Instance: &held[len(recs)]})
		}
	}
	return out, n.replicate(ctx, recs, true)
}

// RegisterMany registers items as instances bound to connection conn, as
// Register would one by one, with one Node.RegisterMany: applied together
// and replicated as one delta. Every item written is bound to the
// connection, also when the replication was not confirmed.
func (l *Leases) RegisterMany(ctx context.Context, conn string, items []store.RegisterItem) ([]store.RegisterOutcome, error) {
	c := l.get(conn)
	if c == nil {
		return nil, ErrConnClosed
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrConnClosed
	}
	for i := range items {
		in := &items[i].In
		in.Ephemeral = true
		in.Holder, in.Conn = l.n.cfg.Name, conn
		in.BeatInterval = l.interval
		in.BeatTimeout, in.DeleteTimeout = LeaseTimeouts*l.interval, LeaseTimeouts*l.interval
	}
	outs, err := l.n.RegisterMany(ctx, items)
	for i, o := range outs {
		if o.Err == nil {
			c.hold(heldKey{items[i].Key, items[i].In.InstanceKey}, o.Instance)
		}
	}
	return outs, err
}
