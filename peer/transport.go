package peer

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roster-io/roster/internal/ratelog"
	"github.com/roster-io/roster/store"
)

// Transport sends a node's traffic to its peers. Each live member gets two
// outbound queues, one for replicated deltas and one for handed-off beats;
// each batches what piles up while a request is in flight. It is safe for
// concurrent use.
type Transport struct {
	cfg   Config
	c     *client
	stats Stats
	warns ratelog.Limiter
	ctx   context.Context
	stop  context.CancelFunc
	// srv is the node's Server, which answers the requests that come on
	// duplex connections this node dialed (nil: it dials one-way ones).
	srv atomic.Pointer[Server]
	// streamYield is how long this node waits for a peer whose name sorts
	// first to connect (stream_link.go); tests shorten it.
	streamYield time.Duration
	// msgpackBeats: this node asks for and grants beat hand-offs in
	// MessagePack on its streams (stream_msgpack.go); tests clear it to
	// act as a build that predates them.
	msgpackBeats bool

	// mu guards queues, held and heardSent.
	mu     sync.Mutex
	queues map[string]*queues
	// held is what members did before this node had queues for them
	// (a duplex connection made, a one-way one dialed), by name: the
	// member's link takes it over.
	held map[string]heldSession
	// heardSent is the last last-heard report each member acknowledged
	// (heard.go).
	heardSent map[string]heardMark
}

// queues are the outbound queues of one member. They are immutable once
// made: a member that comes back with another address or epoch gets new
// ones.
type queues struct {
	m      Member
	deltas *batcher[outDelta, struct{}]
	beats  *batcher[BeatCall, BeatAnswer]
	link   *link // nil without Config.Stream
}

// New validates cfg and builds a transport; it sends nothing until
// SetMembers names members.
func New(cfg Config) (*Transport, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	t := &Transport{cfg: cfg, ctx: ctx, stop: stop, queues: map[string]*queues{}, held: map[string]heldSession{},
		streamYield: streamYield, msgpackBeats: true}
	t.c = newClient(cfg, &t.stats)
	return t, nil
}

// SetMembers makes the transport's queues match members (every live
// member but this node): queues of members gone, or back with another
// address or epoch, stop; new members get queues. It returns the names of
// the members that got new queues.
func (t *Transport) SetMembers(members []Member) (added []string) {
	want := make(map[string]Member, len(members))
	for _, m := range members {
		if m.Name != t.cfg.Self && m.HTTPAddr != "" {
			want[m.Name] = m
		}
	}
	var stopped []*queues
	t.mu.Lock()
	for name, q := range t.queues {
		if m, ok := want[name]; !ok || m.HTTPAddr != q.m.HTTPAddr || m.Epoch != q.m.Epoch {
			stopped = append(stopped, q)
			delete(t.queues, name)
			delete(t.heardSent, name)
		}
	}
	for name, h := range t.held {
		if m, ok := want[name]; !ok || !sameMember(m, h.m) {
			delete(t.held, name)
		}
	}
	for name, m := range want {
		if _, ok := t.queues[name]; !ok {
			t.queues[name] = t.newQueues(m)
			added = append(added, name)
		}
	}
	if len(t.queues) == 0 {
		t.stats.HeardOwed.Store(0) // no member left to owe a report (none is sent)
	}
	t.mu.Unlock()
	for _, q := range stopped {
		q.stop()
	}
	return added
}

// newQueues starts the outbound queues of member m.
func (t *Transport) newQueues(m Member) *queues {
	q := &queues{m: m}
	q.deltas = newBatcher(t.ctx, t.cfg.DeltaQueue, 512, t.cfg.BatchPace, func(ctx context.Context, batch []outDelta) ([]struct{}, error) {
		return t.sendDeltas(ctx, m, batch)
	})
	q.beats = newBatcher(t.ctx, 8192, 1024, t.cfg.HandoffPace, func(ctx context.Context, batch []BeatCall) ([]BeatAnswer, error) {
		return t.sendBeats(ctx, m, batch)
	})
	if t.cfg.Stream {
		var took heldSession
		if h, ok := t.held[m.Name]; ok && sameMember(m, h.m) {
			took = h
			delete(t.held, m.Name)
		}
		q.link = newLink(t, m, took)
	}
	return q
}

func (q *queues) stop() {
	q.deltas.stop()
	q.beats.stop()
	if q.link != nil {
		q.link.stop()
	}
}

// linkOf returns the stream link of member m (at m's address and epoch),
// or nil.
func (t *Transport) linkOf(m Member) *link {
	t.mu.Lock()
	defer t.mu.Unlock()
	q, ok := t.queues[m.Name]
	if !ok || !sameMember(q.m, m) {
		return nil
	}
	return q.link
}

// sameMember reports whether a and b are the same incarnation of a
// member: same address and epoch.
func sameMember(a, b Member) bool { return a.HTTPAddr == b.HTTPAddr && a.Epoch == b.Epoch }

// allowed reports whether this node may send to peer now.
func (t *Transport) allowed(peer string) bool { return t.cfg.Allow == nil || t.cfg.Allow(peer) }

// call sends an internal request to m: over m's stream when there is one
// and it carries the request, else as an HTTP request.
func (t *Transport) call(ctx context.Context, kind Kind, m Member, method, path string, in, out any) error {
	if method == http.MethodPost && t.cfg.Stream && t.allowed(m.Name) {
		if done, err := t.streamCall(ctx, kind, m, path, in, out); done {
			t.stats.Requests[kind].Add(1)
			if err == nil {
				t.stats.StreamCalls.Add(1)
			}
			return err
		}
	}
	return t.c.call(ctx, kind, m.Name, m.HTTPAddr, method, path, in, out)
}

// list returns every member's queues.
func (t *Transport) list() []*queues {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]*queues, 0, len(t.queues))
	for _, q := range t.queues {
		out = append(out, q)
	}
	return out
}

// Broadcast queues recs for every member and returns their pending
// acknowledgements. Members whose queue is full are left out and logged:
// anti-entropy repairs them.
func (t *Transport) Broadcast(recs []store.Record) *Acks {
	return t.broadcast(context.Background(), 0, recs)
}

// BroadcastWait is Broadcast with back-pressure: a member whose queue is
// full is waited for, until there is room, within passed or ctx ended
// (only then is it left out).
func (t *Transport) BroadcastWait(ctx context.Context, within time.Duration, recs []store.Record) *Acks {
	return t.broadcast(ctx, within, recs)
}

// broadcast queues recs for every member, waiting up to within for room
// in a full queue (not at all when within is 0). The wait's context is
// made only when a queue is full: every client write passes here.
func (t *Transport) broadcast(ctx context.Context, within time.Duration, recs []store.Record) *Acks {
	qs := t.list()
	a := &Acks{done: make(chan batchResult[struct{}], len(qs))}
	var full []*queues
	for _, q := range qs {
		if q.deltas.enqueue(outDelta{recs: recs}, a.done) {
			a.queued++
		} else {
			full = append(full, q)
		}
	}
	if within > 0 && len(full) > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, within)
		defer cancel()
	}
	for _, q := range full {
		if within > 0 && q.deltas.enqueueWait(ctx, outDelta{recs: recs}, a.done) {
			a.queued++
			continue
		}
		t.warns.Warn(t.cfg.Logger, t.cfg.Now(), "replication queue full; anti-entropy will repair", "peer", q.m.Name)
	}
	return a
}

// Acks are the pending acknowledgements of one broadcast.
type Acks struct {
	done   chan batchResult[struct{}]
	queued int
}

// First waits until one member confirmed the broadcast, and reports
// whether one did before every member failed, timeout passed or ctx
// ended.
func (a *Acks) First(ctx context.Context, timeout time.Duration) bool {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for left := a.queued; left > 0; left-- {
		select {
		case r := <-a.done:
			if r.err == nil {
				return true
			}
		case <-timer.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
	return false
}

// Peers reports how many members have queues.
func (t *Transport) Peers() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.queues)
}

// Pending returns how many deltas wait in the queues.
func (t *Transport) Pending() int {
	n := 0
	for _, q := range t.list() {
		n += q.deltas.pending()
	}
	return n
}

// HandOff sends a beat to its owner through the owner's queue and waits
// at most HandoffTimeout for the answer. It returns ErrStaleHandoff when
// the owner refused the hand-off as stale.
func (t *Transport) HandOff(ctx context.Context, owner string, call BeatCall) (BeatAnswer, error) {
	t.mu.Lock()
	q, ok := t.queues[owner]
	t.mu.Unlock()
	if !ok {
		return BeatAnswer{}, ErrNoQueue
	}
	done := make(chan batchResult[BeatAnswer], 1)
	if !q.beats.enqueue(call, done) {
		return BeatAnswer{}, ErrQueueFull
	}
	timer := time.NewTimer(t.cfg.HandoffTimeout)
	defer timer.Stop()
	select {
	case r := <-done:
		if r.err == nil && r.val.Stale {
			return r.val, ErrStaleHandoff
		}
		return r.val, r.err
	case <-timer.C:
		return BeatAnswer{}, fmt.Errorf("peer: hand-off to %s: %w", owner, ErrTimeout)
	case <-ctx.Done():
		return BeatAnswer{}, ctx.Err()
	}
}

// outDelta is one item of a member's delta queue: the records of one
// write, or connection closes (closes.go).
type outDelta struct {
	recs   []store.Record
	closes []ConnClose
}

// sendDeltas sends one batch of deltas to m, in order: the records of
// consecutive writes in one request, and the closes between them in
// requests of their own, each sent once the one before it was answered.
// A batch fails with its records; closes that fail are logged and left
// to the lease and anti-entropy.
// With the stream on, records that would not fit a frame leave in several
// requests, one after the other, so a busy peer's batches do not fall
// back to HTTP.
func (t *Transport) sendDeltas(ctx context.Context, m Member, batch []outDelta) ([]struct{}, error) {
	var req deltasRequest
	size, left := 0, 0
	for _, d := range batch {
		left += len(d.recs)
	}
	flush := func() error {
		if len(req.Records) == 0 {
			return nil
		}
		err := t.sendDeltaRequest(ctx, m, &req)
		req.Records, size = nil, 0
		return err
	}
	for _, d := range batch {
		if len(d.closes) > 0 {
			if err := flush(); err != nil {
				return nil, err
			}
			// A peer that refuses the closes (an older version without
			// the endpoint) still gets the records after them.
			if err := t.sendCloses(ctx, m, d.closes); err != nil {
				t.warns.Warn(t.cfg.Logger, t.cfg.Now(), "connection closes not delivered: left to the lease and anti-entropy", "peer", m.Name, "err", err)
			}
			continue
		}
		t.stats.DeltaWrites.Add(1)
		recs := d.recs
		for i := range recs {
			size += recs[i].Msgsize()
		}
		if t.cfg.Stream && size > streamDeltaBytes && len(req.Records) > 0 {
			if err := flush(); err != nil {
				return nil, err
			}
			for i := range recs {
				size += recs[i].Msgsize()
			}
		}
		if req.Records == nil {
			req.Records = make([]store.Record, 0, left) // one allocation, not a doubling series
		}
		req.Records = append(req.Records, recs...)
		left -= len(recs)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return make([]struct{}, len(batch)), nil
}

// streamDeltaBytes is the size above which a batch of deltas is split
// (a part may exceed it by one write).
const streamDeltaBytes = streamMaxFrame / 4

// sendDeltaRequest sends one deltas request to m.
func (t *Transport) sendDeltaRequest(ctx context.Context, m Member, req *deltasRequest) error {
	t.stats.DeltaBatches.Add(1)
	t.stats.DeltaRecords.Add(uint64(len(req.Records)))
	if err := t.call(ctx, KindDeltas, m, http.MethodPost, deltasPath, req, nil); err != nil {
		t.stats.DeltaFailures.Add(1)
		return err
	}
	return nil
}

// sendBeats hands a batch of beats to m.
func (t *Transport) sendBeats(ctx context.Context, m Member, batch []BeatCall) ([]BeatAnswer, error) {
	var reply beatsReply
	t.stats.HandoffBatches.Add(1)
	t.stats.HandoffBeats.Add(uint64(len(batch)))
	req := &beatsRequest{Beats: batch, Sent: t.cfg.Now().UnixNano()}
	if err := t.call(ctx, KindBeats, m, http.MethodPost, "/internal/v1/beats", req, &reply); err != nil {
		return nil, err
	}
	return reply.Answers, nil
}

// Close stops every queue and drops idle connections.
func (t *Transport) Close() {
	t.stop()
	t.mu.Lock()
	qs := t.queues
	t.queues = map[string]*queues{}
	t.mu.Unlock()
	for _, q := range qs {
		q.stop()
	}
	t.c.close()
}

// Stats returns the transport's counters.
func (t *Transport) Stats() *Stats { return &t.stats }
