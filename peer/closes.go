package peer

import (
	"context"
	"fmt"
	"net/http"
	"unicode/utf8"

	"github.com/roster-io/roster/store"
)

// Connection closes. When a client connection a node holds closes, every
// instance bound to it must go on every node. Rather than one tombstone
// per instance (a thousand connections closing at once would make a
// hundred thousand deltas), the holder sends each member one small
// message per connection, "connection X of this node closed at version
// V", and every node deletes the instances bound to X itself
// (store.CloseConn), writing the same tombstones as the holder.
//
// The closes travel in the member's delta queue, so a member gets a
// connection's registrations before its close; closes queued one after
// the other fold into one queue item (at most closesPerItem), so a mass
// close takes a few slots of the queue, not one per connection. They
// leave as POST /internal/v1/closed, a request of their own, so a member
// that does not know it refuses only the closes: it deletes those
// instances when their leases lapse, and anti-entropy brings it the
// holder's tombstones.

// ConnClose says that connection Conn of the sending node closed, decided
// at Version (stamped by the sender, under its name).
type ConnClose struct {
	Conn    string        `json:"conn"`
	Version store.Version `json:"version"`
}

// closesPerItem bounds the closes folded into one queue item (and so one
// request): about 100 bytes each in JSON.
const closesPerItem = 2048

// closesMaxBody bounds a closes request.
const closesMaxBody = closesPerItem*(MaxConnIDBytes+256) + 1024

// CloseReceiver is what a node's core implements to take connection
// closes: CloseConns deletes the instances bound to each closed connection
// of holder and returns how many it deleted.
type CloseReceiver interface {
	CloseConns(holder Member, closes []ConnClose) int
}

// closesRequest is the body of POST /internal/v1/closed.
type closesRequest struct {
	Closes []ConnClose `json:"closes"`
}

// closesReply says how many instances the member deleted.
type closesReply struct {
	Deleted int `json:"deleted"`
}

// checkCloses validates a closes request from member from: at most
// closesPerItem closes, each naming a connection id as a lease does and a
// version of from's, with a positive clock.
func checkCloses(from string, closes []ConnClose) error {
	if len(closes) > closesPerItem {
		return fmt.Errorf("%w: closed: closes: %d, at most %d", errBadJSON, len(closes), closesPerItem)
	}
	for i, c := range closes {
		switch {
		case c.Conn == "" || len(c.Conn) > MaxConnIDBytes:
			return fmt.Errorf("%w: closed: closes[%d].conn: %d bytes, want 1 to %d", errBadJSON, i, len(c.Conn), MaxConnIDBytes)
		case !utf8.ValidString(c.Conn) || !printable(c.Conn):
			return fmt.Errorf("%w: closed: closes[%d].conn: not printable UTF-8", errBadJSON, i)
		case c.Version.Clock <= 0:
			return fmt.Errorf("%w: closed: closes[%d].version.clock: must be positive", errBadJSON, i)
		case c.Version.Node != from:
			return fmt.Errorf("%w: closed: closes[%d].version.node: %q is not the sender %q (a node closes only its own connections)", errBadJSON, i, c.Version.Node, from)
		}
	}
	return nil
}

// BroadcastClose queues the close of connection c for every member, after
// whatever their queues hold. While a member's queue is full it waits for
// room until ctx ends; a member still full then is left out and logged:
// the lease of the connection's instances lapses there, and anti-entropy
// repairs it.
func (t *Transport) BroadcastClose(ctx context.Context, c ConnClose) {
	for _, q := range t.list() {
		item := outDelta{closes: []ConnClose{c}}
		queued := q.deltas.enqueueOrMerge(ctx, item, func(tail *outDelta) bool {
			if tail.recs != nil || len(tail.closes) == 0 || len(tail.closes) >= closesPerItem {
				return false
			}
			tail.closes = append(tail.closes, c)
			return true
		})
		if !queued {
			t.warns.Warn(t.cfg.Logger, t.cfg.Now(), "replication queue full: a connection close is left to the lease and anti-entropy", "peer", q.m.Name)
		}
	}
}

// sendCloses sends closes to m.
func (t *Transport) sendCloses(ctx context.Context, m Member, closes []ConnClose) error {
	t.stats.ClosesSent.Add(uint64(len(closes)))
	if err := t.call(ctx, KindDeltas, m, http.MethodPost, "/internal/v1/closed", &closesRequest{Closes: closes}, nil); err != nil {
		t.stats.DeltaFailures.Add(1)
		return err
	}
	return nil
}

// closed handles POST /internal/v1/closed.
func (s *Server) closed(w http.ResponseWriter, r *http.Request, from Member) {
	cr, ok := s.recv.(CloseReceiver)
	if !ok {
		writeError(w, &RemoteError{Status: http.StatusNotFound, Msg: "peer: closed: this node takes no connection closes"})
		return
	}
	var req closesRequest
	err := readBody(r, &req, closesMaxBody, s.stats)
	if err == nil {
		err = checkCloses(from.Name, req.Closes)
	}
	if err != nil {
		s.cfg.Logger.Warn("refused a peer's connection closes", "from", from.Name, "err", err)
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, closesReply{Deleted: cr.CloseConns(from, req.Closes)})
}
