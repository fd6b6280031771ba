// Package ratelog keeps a repeated warning (a sync that fails on every
// retry, a full queue) from flooding the log: the first is logged, the
// repeats at most once per Every, with the count of those left out.
package ratelog

import (
	"log/slog"
	"sync"
	"time"
)

// Every is how often a repeated warning is logged again; the lines left
// out in between are counted in the next one ("repeated").
const Every = 10 * time.Second

// Limiter limits repeated warnings, keyed by message. The zero value is
// ready to use; it is safe for concurrent use.
type Limiter struct {
	// mu guards seen.
	mu   sync.Mutex
	seen map[string]*limited
}

type limited struct {
	last    time.Time
	dropped int
}

// Warn logs msg at warn level unless the same msg was logged less than
// Every ago; then it only counts it.
func (l *Limiter) Warn(log *slog.Logger, now time.Time, msg string, args ...any) {
	l.mu.Lock()
	if l.seen == nil {
		l.seen = map[string]*limited{}
	}
	s, ok := l.seen[msg]
	if ok && now.Sub(s.last) < Every {
		s.dropped++
		l.mu.Unlock()
		return
	}
	if !ok {
		s = &limited{}
		l.seen[msg] = s
	}
	dropped := s.dropped
	s.last, s.dropped = now, 0
	l.mu.Unlock()
	if dropped > 0 {
		args = append(args, "repeated", dropped)
	}
	log.Warn(msg, args...)
}
