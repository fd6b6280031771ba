package peer

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// One connection per pair of nodes. Either node may dial, and a duplex
// connection carries both nodes' requests, so a pair needs one. Who
// dials: the node whose name sorts first dials at once (after a dropped
// connection, after the usual backoff); the other waits streamYield for
// it and dials only if no connection came by then (the first node is
// down, cut off, or cannot reach it). When both dialed anyway (each
// waited for the other, or a connection came while the other was being
// set up), both keep the one the first node dialed, the newest such if
// there are several, and drain the other without losing a request
// (stream_drain.go). With a peer that speaks only one-way connections
// (a build that predates duplex ones, or a node that does not send over
// streams), each node dials its own, as before.

// streamYield is how long the node whose name sorts second waits for the
// first to connect before it dials itself.
const streamYield = 5 * time.Second

// link keeps a connection to one member up, and picks the one to send
// on: calls use it, or HTTP while there is none.
type link struct {
	t      *Transport
	m      Member
	first  bool // this node's name sorts first: it dials, and keeps what it dialed
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	kick   chan struct{} // cap 1: a connection came from the peer, or the peer speaks one-way only
	cur    atomic.Pointer[session]

	// mu guards sess, oneWay and stopped.
	mu      sync.Mutex
	sess    []linkSession
	stopped bool
	// oneWay: the peer does not use duplex connections; this node dials
	// its own at once.
	oneWay bool
}

// linkSession is one connection of a link.
type linkSession struct {
	s      *session
	dialed bool // this node dialed it (else the peer did, and the Server owns it)
	at     time.Time
}

// newLink starts the link to m, taking over what m did before the link
// existed: a duplex connection it made, or a one-way one it dialed.
func newLink(t *Transport, m Member, held heldSession) *link {
	ctx, cancel := context.WithCancel(t.ctx)
	l := &link{t: t, m: m, first: t.cfg.Self < m.Name, ctx: ctx, cancel: cancel, kick: make(chan struct{}, 1),
		oneWay: held.oneWay}
	if held.s != nil {
		l.sess = append(l.sess, linkSession{s: held.s, at: time.Now()})
	}
	l.wg.Go(l.run)
	return l
}

// stop ends the link and its connections.
func (l *link) stop() {
	l.cancel()
	l.wg.Wait()
	l.mu.Lock()
	all := l.sess
	l.sess, l.stopped = nil, true
	l.mu.Unlock()
	l.cur.Store(nil)
	for _, ls := range all {
		if ls.dialed {
			ls.s.close()
		} else {
			ls.s.fail(errors.New("peer: stream closed: the member left"))
		}
	}
}

// session returns the connection to send on, or nil.
func (l *link) session() *session { return l.cur.Load() }

// add adds a connection to the link; one that comes after the link
// stopped is closed.
func (l *link) add(s *session, dialed bool) {
	l.mu.Lock()
	stopped := l.stopped
	if !stopped {
		l.sess = append(l.sess, linkSession{s: s, dialed: dialed, at: time.Now()})
	}
	l.mu.Unlock()
	switch {
	case stopped && dialed:
		s.close()
	case stopped:
		s.fail(errors.New("peer: stream closed: the member left"))
	default:
		l.wake()
	}
}

// setOneWay records that the peer does not use duplex connections.
func (l *link) setOneWay() {
	l.mu.Lock()
	l.oneWay = true
	l.mu.Unlock()
	l.wake()
}

func (l *link) wake() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// dialsNow reports whether this node dials without waiting for the peer.
func (l *link) dialsNow() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.first || l.oneWay || l.t.srv.Load() == nil
}

// refresh drops ended connections, picks the one to send on, drains
// duplicates, and returns the pick (nil: none).
func (l *link) refresh() *session {
	var ended, losers []*session
	l.mu.Lock()
	live := l.sess[:0]
	for _, ls := range l.sess {
		if ls.s.ctx.Err() != nil {
			if ls.dialed {
				ended = append(ended, ls.s)
			}
			continue
		}
		live = append(live, ls)
	}
	clear(l.sess[len(live):])
	l.sess = live
	best := -1
	for i := range l.sess {
		if !l.sess[i].s.isDraining() && (best < 0 || l.better(l.sess[i], l.sess[best])) {
			best = i
		}
	}
	prev := l.cur.Load()
	var cur *session
	if best >= 0 {
		cur = l.sess[best].s
		for i, ls := range l.sess {
			if i != best && ls.s.duplex && cur.duplex {
				losers = append(losers, ls.s)
			}
		}
	}
	l.cur.Store(cur)
	l.mu.Unlock()
	if prev == nil && cur != nil {
		// Idle HTTP connections kept from before the stream (start-up
		// traffic, a dump) would stay open for nothing.
		l.t.c.close()
	}
	for _, s := range losers {
		s.drain()
	}
	for _, s := range ended {
		s.close()
	}
	return cur
}

// better reports whether a is kept rather than b: a duplex connection
// over a one-way one, then the one the first node dialed, then the newer.
// Both nodes decide alike.
func (l *link) better(a, b linkSession) bool {
	if a.s.duplex != b.s.duplex {
		return a.s.duplex
	}
	if ka, kb := a.dialed == l.first, b.dialed == l.first; ka != kb {
		return ka
	}
	return a.at.After(b.at)
}

func (l *link) run() {
	log := l.t.cfg.Logger
	backoff := streamBackoffMin
	wait := time.Duration(0)
	var refusedSince time.Time // the first of the refusals in a row
	for l.ctx.Err() == nil {
		if s := l.refresh(); s != nil {
			began := time.Now()
			select {
			case <-s.done():
			case <-l.kick:
				continue
			case <-l.ctx.Done():
				return
			}
			if l.refresh() != nil {
				continue // another connection took over
			}
			if err := s.cause(); l.ctx.Err() == nil && !errors.Is(err, errDrained) {
				log.Info("peer stream closed; reconnecting", "peer", l.m.Name, "err", err)
			}
			if time.Since(began) > streamBackoffMax {
				backoff = streamBackoffMin
			}
			wait = backoff
		}
		d := wait/2 + rand.N(wait/2+1)
		if !l.dialsNow() {
			d += l.t.streamYield
		}
		if d > 0 && !l.sleep(d) {
			continue // a connection came, or the link stops
		}
		if l.refresh() != nil {
			continue
		}
		wait = backoff
		backoff = min(2*backoff, streamBackoffMax)
		if !l.t.allowed(l.m.Name) {
			continue
		}
		s, err := l.t.dialStream(l.ctx, l.m)
		if !errors.Is(err, errStreamRefused) {
			refusedSince = time.Time{}
		}
		switch {
		case errors.Is(err, errStreamRefused) && l.refusedLately(&refusedSince):
			log.Debug("peer stream refused; the peer may not know this node yet; using HTTP meanwhile", "peer", l.m.Name, "err", err)
		case err == nil:
			l.t.stats.StreamConnects.Add(1)
			if !s.duplex {
				l.setOneWay()
			}
			l.add(s, true)
		case errors.Is(err, errNoStream):
			log.Info("peer does not accept the stream; using HTTP", "peer", l.m.Name, "err", err)
			wait = streamRetryOld
		default:
			l.t.warns.Warn(log, l.t.cfg.Now(), "peer stream: dial failed; using HTTP meanwhile", "peer", l.m.Name, "err", err)
		}
	}
}

// refusedLately notes a refusal in *since (when the first of a row was)
// and reports whether the row is still within streamRefusedGrace.
func (l *link) refusedLately(since *time.Time) bool {
	now := l.t.cfg.Now()
	if since.IsZero() {
		*since = now
	}
	return now.Sub(*since) < streamRefusedGrace
}

// sleep waits d; it returns false when woken early by a kick or the
// link's end.
func (l *link) sleep(d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-l.kick:
		return false
	case <-l.ctx.Done():
		return false
	}
}

// heldSession is what a member did before this node had a link to it:
// a duplex connection it made (s), or a one-way one it dialed (oneWay),
// which tells the link to come to dial its own at once.
type heldSession struct {
	m      Member
	s      *session
	oneWay bool
}

// adopt gives a duplex connection that member from made to this node to
// from's link, which may send on it; without a link yet (the member is
// new to this node), it is held for the link to come. A connection held
// before for the same member is drained.
func (t *Transport) adopt(from Member, s *session) {
	t.mu.Lock()
	if q, ok := t.queues[from.Name]; ok && q.link != nil && sameMember(q.m, from) {
		t.mu.Unlock()
		q.link.add(s, false)
		return
	}
	old, had := t.held[from.Name]
	t.held[from.Name] = heldSession{m: from, s: s}
	t.mu.Unlock()
	if had && old.s != nil {
		old.s.drain()
	}
}

// peerOneWay records that member from dialed a one-way connection: it
// predates duplex ones, so this node dials its own at once. Without a
// link yet, it is held for the link to come, as adopt does.
func (t *Transport) peerOneWay(from Member) {
	t.mu.Lock()
	q, ok := t.queues[from.Name]
	if ok && q.link != nil {
		t.mu.Unlock()
		if sameMember(q.m, from) {
			q.link.setOneWay()
		}
		return
	}
	var drop *session
	h, had := t.held[from.Name]
	if had && !sameMember(h.m, from) {
		drop, h = h.s, heldSession{}
	}
	h.m, h.oneWay = from, true
	t.held[from.Name] = h
	t.mu.Unlock()
	if drop != nil {
		drop.drain()
	}
}
