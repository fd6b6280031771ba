package gate

import (
	"fmt"
	"sync"
	"time"
)

// The login brake. Failed logins are counted per user name and per source
// host; from the brakeFree-th failure in a row on, each further attempt on
// that key waits out a back-off that doubles from brakeBase up to brakeMax,
// and is refused with 429 and Retry-After meanwhile, even with the right
// password. A success clears the user's and the source's counts. Idle
// counts are forgotten after brakeIdle, and at most brakeKeys are kept,
// so guessing from many sources cannot bloat the node either.
const (
	brakeFree = 5
	brakeBase = time.Second
	brakeMax  = time.Minute
	brakeIdle = 15 * time.Minute
	brakeKeys = 10000
)

// brake counts failed logins. It is safe for concurrent use.
type brake struct {
	// mu guards keys.
	mu   sync.Mutex
	keys map[string]*failures
}

// failures are the failed logins of one key.
type failures struct {
	count int
	last  time.Time // the latest failure
	until time.Time // refused before this
}

// RetryError refuses a request for Wait; its status is 429 and the doors
// send Retry-After.
type RetryError struct {
	Wait time.Duration
	Msg  string
}

func (e *RetryError) Error() string { return e.Msg }

// HTTPStatus is 429.
func (e *RetryError) HTTPStatus() int { return 429 }

// RetryAfter returns Wait in whole seconds, at least 1.
func (e *RetryError) RetryAfter() int { return max(1, int((e.Wait+time.Second-1)/time.Second)) }

// check refuses an attempt by user from source while either is braked.
func (b *brake) check(user, source string, now time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, k := range []string{"u:" + user, "s:" + source} {
		if f, ok := b.keys[k]; ok && now.Before(f.until) {
			return &RetryError{Wait: f.until.Sub(now),
				Msg: fmt.Sprintf("gate: too many failed logins for this user or from this host; retry in %v", f.until.Sub(now).Round(time.Second))}
		}
	}
	return nil
}

// fail counts a failed attempt by user from source.
func (b *brake) fail(user, source string, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.keys == nil {
		b.keys = map[string]*failures{}
	}
	for _, k := range []string{"u:" + user, "s:" + source} {
		f, ok := b.keys[k]
		if !ok {
			if len(b.keys) >= brakeKeys {
				b.pruneLocked(now)
			}
			f = &failures{}
			b.keys[k] = f
		}
		f.count++
		f.last = now
		if n := f.count - brakeFree; n >= 0 {
			f.until = now.Add(min(brakeBase<<min(n, 20), brakeMax))
		}
	}
}

// succeed clears the counts of user and source.
func (b *brake) succeed(user, source string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.keys, "u:"+user)
	delete(b.keys, "s:"+source)
}

// pruneLocked forgets idle counts; if the map is still full it forgets
// arbitrary ones down to half, so it never passes brakeKeys.
func (b *brake) pruneLocked(now time.Time) {
	for k, f := range b.keys {
		if now.Sub(f.last) > brakeIdle && !now.Before(f.until) {
			delete(b.keys, k)
		}
	}
	for k := range b.keys {
		if len(b.keys) < brakeKeys/2 {
			return
		}
		delete(b.keys, k)
	}
}

// len returns how many keys are counted, for tests.
func (b *brake) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.keys)
}
