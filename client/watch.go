package client

// Watch: a loop of blocking queries (GET /v1/instances?index=N&wait=W)
// against one node. The node answers as soon as the service changes, so a
// watcher learns of a change within the replication lag, with no polling
// delay. Indexes are per node: after a failover the loop asks the new node
// without an index first and delivers only if the list differs from the
// last one delivered.

import (
	"context"
	"encoding/json"
	"reflect"
	"time"
)

// Watch calls fn with the service's instance list at once and then every
// time it changes, until ctx ends or the client closes (it then returns
// the context's error, or ErrClosed). It survives node failures by failing
// over to the next address. fn runs on Watch's goroutine; a slow fn delays
// the next query, never loses the latest list.
func (c *Client) Watch(ctx context.Context, q Query, fn func([]Instance)) error {
	v, err := q.values()
	if err != nil {
		return err
	}
	if err := c.checkOpen(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(c.ctx, cancel)
	defer stop()

	var last []Instance
	delivered := false
	var index uint64
	node := int(c.preferred.Load())
	fails := 0
	for ctx.Err() == nil {
		targets := c.targets()
		body, err := c.listAt(ctx, targets[node%len(targets)], v, index, c.cfg.WatchWait)
		if err != nil {
			if c.ctx.Err() != nil {
				return ErrClosed
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			c.log.Debug("watch failed; trying the next node", "service", q.Name, "err", err)
			node, index = node+1, 0
			fails++
			if fails%len(targets) == 0 {
				c.log.Warn("watch: no node answers; retrying", "service", q.Name, "err", err)
				if err := sleep(ctx, c.backoff(fails/len(targets)-1)); err != nil {
					continue // reported at the top of the loop
				}
			}
			continue
		}
		fails = 0
		list := body.instances()
		if !delivered || !reflect.DeepEqual(list, last) {
			fn(list)
			last, delivered = list, true
		}
		index = body.Index
		if index == 0 {
			// A node that has never seen a write answers index 0, and a
			// query with index 0 does not block: poll (cheaply, 5 times a
			// second) until it has one.
			_ = sleep(ctx, min(200*time.Millisecond, c.cfg.WatchWait))
		}
	}
	if c.ctx.Err() != nil {
		return ErrClosed
	}
	return ctx.Err()
}

// WatchChan is Watch delivering on a channel. The channel holds the
// latest list only: a reader that falls behind skips straight to the
// newest. It is closed when ctx ends or the client closes.
func (c *Client) WatchChan(ctx context.Context, q Query) (<-chan []Instance, error) {
	if _, err := q.values(); err != nil {
		return nil, err
	}
	ch := make(chan []Instance, 1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	c.goLocked(func() {
		defer close(ch)
		_ = c.Watch(ctx, q, func(l []Instance) {
			for {
				select {
				case ch <- l:
					return
				default:
				}
				select { // drop the stale list nobody read yet
				case <-ch:
				default:
				}
			}
		})
	})
	return ch, nil
}

// jsonUnmarshal decodes a JSON answer.
func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
