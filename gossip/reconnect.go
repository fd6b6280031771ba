package gossip

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// Reconnecting to failed members. memberlist gossips only with members it
// believes alive, so after a network partition heals the two sides, each
// having declared the other dead, would never talk again. Like Serf, the
// node remembers members that went away and every ReconnectInterval tries
// to join one of them at random, for up to ReconnectTimeout. The first
// join makes each side refute the other's death with a higher
// incarnation; the next one (of either side) then merges the member lists,
// and the memberlist protocol does the rest.

// failedSet holds members declared dead, by name. It is safe for
// concurrent use.
type failedSet struct {
	// mu guards m.
	mu sync.Mutex
	m  map[string]failedMember
}

// failedMember is where a failed member was last seen, and when it failed.
type failedMember struct {
	addr string
	at   time.Time
}

func newFailedSet() *failedSet { return &failedSet{m: map[string]failedMember{}} }

// add records that name failed at addr.
func (f *failedSet) add(name, addr string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.m[name] = failedMember{addr: addr, at: time.Now()}
}

// remove forgets name (it came back, or left gracefully).
func (f *failedSet) remove(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.m, name)
}

// pick returns the address of a random failed member, dropping those that
// failed more than timeout ago.
func (f *failedSet) pick(timeout time.Duration) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var addrs []string
	for name, m := range f.m {
		if time.Since(m.at) > timeout {
			delete(f.m, name)
			continue
		}
		addrs = append(addrs, m.addr)
	}
	if len(addrs) == 0 {
		return "", false
	}
	return addrs[rand.N(len(addrs))], true
}

// count returns how many members failed within timeout.
func (f *failedSet) count(timeout time.Duration) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, m := range f.m {
		if time.Since(m.at) <= timeout {
			n++
		}
	}
	return n
}

// Gone returns how many members left or were declared dead within
// Config.ReconnectTimeout and have not come back; the node still tries to
// reconnect to them. memberlist does not say which of the two happened.
func (g *Gossip) Gone() int { return g.failed.count(g.cfg.ReconnectTimeout) }

// reconnectLoop tries to rejoin failed members until ctx is done.
func (g *Gossip) reconnectLoop(ctx context.Context) {
	for {
		if !sleepCtx(ctx, jitter(g.cfg.ReconnectInterval)) {
			return
		}
		addr, ok := g.failed.pick(g.cfg.ReconnectTimeout)
		if !ok {
			continue
		}
		if n, err := g.ml.Load().Join([]string{addr}); n > 0 {
			g.logger.Debug("gossip: contacted a failed member", "addr", addr)
		} else {
			g.logger.Debug("gossip: reconnect failed", "addr", addr, "err", err)
		}
	}
}
