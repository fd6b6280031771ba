package client

import (
	"errors"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// When each node last answered. A node that answered this client lately
// (any HTTP answer, whatever its status) is alive, so a batch of beats it
// is slow to answer is waited for longer rather than sent to another
// node: there the beats would be handed back to this same owner, adding
// to its load, and a hand-off it cannot take in time leaves the beats on
// a node that does not time the instances out, so the owner marks them
// unhealthy although they beat. A node that has not answered lately may
// be gone, and its beats go elsewhere at the usual timeout.

// answeredNodes maps a node's host to when it last answered (unix ns).
type answeredNodes struct{ m sync.Map } // string → *atomic.Int64

// note records the outcome of a request to base at now: an answer, or
// an APIError (also an answer), marks the node as heard.
func (a *answeredNodes) note(base *url.URL, err error, now time.Time) {
	var ae *APIError
	if err != nil && !errors.As(err, &ae) {
		return
	}
	v, ok := a.m.Load(base.Host)
	if !ok {
		v, _ = a.m.LoadOrStore(base.Host, new(atomic.Int64))
	}
	v.(*atomic.Int64).Store(now.UnixNano())
}

// within reports whether the node at base answered within d before now.
func (a *answeredNodes) within(base *url.URL, d time.Duration, now time.Time) bool {
	v, ok := a.m.Load(base.Host)
	return ok && now.UnixNano()-v.(*atomic.Int64).Load() <= int64(d)
}

// beatTimeout returns how long a batch of beats to the owner at base may
// take: timeout (a share of the beat interval), or, from an owner that
// answered within six of those, four times it (two intervals), at most
// Config.RequestTimeout. The beats' previous beat reached the owner about
// an interval ago, so an answer within two more is still in time for the
// default beat timeout of three intervals.
func (c *Client) beatTimeout(base *url.URL, timeout time.Duration) time.Duration {
	if c.answered.within(base, 6*timeout, time.Now()) {
		return max(timeout, min(c.cfg.RequestTimeout, 4*timeout))
	}
	return timeout
}
