package peer

// Draining a duplex connection without losing a request: when two
// connections join the same pair of nodes, both keep the same one
// (stream_link.go) and drain the other. A side that drains starts no
// more requests on the connection and, once the requests it had started
// are queued, writes a go-away; a side that reads a go-away drains too.
// A side that wrote and read a go-away, whose requests are all answered
// and whose answers to the peer's requests are all written, closes the
// connection gracefully: the peer sends nothing after its go-away but
// answers, and has them all, so nothing is cut off. A drain that takes
// longer than two timeouts fails the connection; the requests still on
// it are sent again elsewhere (every internal request is safe to repeat).

// drain starts draining s (a duplex session); calls of roundTrip from
// now on fail with errStreamDown at once.
func (s *session) drain() {
	s.mu.Lock()
	s.draining = true
	s.mu.Unlock()
	s.poke()
}

// isDraining reports whether s drains.
func (s *session) isDraining() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.draining
}

// peerDrained reports whether the peer wrote its go-away.
func (s *session) peerDrained() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.goAwayRecv
}

// quiet reports whether s wrote its go-away: it sends no pings after it.
func (s *session) quiet() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.goAwaySent
}

// drainState is what the writer does next about a drain.
type drainState struct {
	draining bool // start the drain's deadline
	goAway   bool // write the go-away now
	finished bool // close the connection gracefully
}

// drainStep decides, after the writer wrote every frame that was queued
// (queued is how many were queued since), whether to write the go-away
// and whether the drain is complete.
func (s *session) drainStep(queued int) drainState {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.draining || !s.duplex {
		return drainState{}
	}
	st := drainState{draining: true}
	if !s.goAwaySent && s.sending == 0 {
		s.goAwaySent, st.goAway = true, true
	}
	st.finished = s.goAwaySent && s.goAwayRecv && s.sending == 0 && len(s.pending) == 0 && s.inReqs == 0 && queued == 0
	return st
}
