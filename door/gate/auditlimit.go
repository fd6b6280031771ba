package gate

import (
	"sync"
	"time"
)

// Writes refused for want of a valid token are audited too, but a client
// could send them faster than a log should grow: each source address gets
// at most one line per auditEvery, which counts the refusals left out.

const (
	auditEvery   = 10 * time.Second
	auditSources = 10000 // sources remembered; beyond, the memory starts over
)

// auditLimiter limits the unauthenticated refusals logged per source. The
// zero value is ready; it is safe for concurrent use.
type auditLimiter struct {
	mu   sync.Mutex // guards seen
	seen map[string]*auditSeen
}

type auditSeen struct {
	last    time.Time
	dropped int
}

// allow reports whether a line for source may be logged now, and how
// many were left out since the last one.
func (l *auditLimiter) allow(source string, now time.Time) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen == nil || len(l.seen) >= auditSources {
		l.seen = map[string]*auditSeen{}
	}
	s, ok := l.seen[source]
	if ok && now.Sub(s.last) < auditEvery {
		s.dropped++
		return false, 0
	}
	if !ok {
		s = &auditSeen{}
		l.seen[source] = s
	}
	dropped := s.dropped
	s.last, s.dropped = now, 0
	return true, dropped
}

// auditUnauthenticated logs a write refused for want of a valid token
// (why: the error), at most once per auditEvery per source.
func (g *Gate) auditUnauthenticated(source, resource string, why error) {
	if g.cfg.Logger == nil {
		return
	}
	ok, dropped := g.auditLim.allow(source, g.auth.now())
	if !ok {
		return
	}
	g.cfg.Logger.Info("acl: write denied without a valid token", "audit", true, "user", "anonymous", "source", source,
		"resource", resource, "reason", why.Error(), "repeated", dropped)
}
