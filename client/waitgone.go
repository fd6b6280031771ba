package client

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sync"
)

// WaitGone waits until no alive member of the cluster lists any of keys,
// or ctx ends. It asks every member with blocking queries, so it returns
// as soon as the last one dropped them. A member that refuses connections
// is down and counts as done. Use it after Deregister to know that no node
// will hand the instance to a caller any more.
func (c *Client) WaitGone(ctx context.Context, keys ...InstanceKey) error {
	if len(keys) == 0 {
		return nil
	}
	ms, err := c.Members(ctx)
	if err != nil {
		return fmt.Errorf("client: wait gone: %w", err)
	}
	byService := map[Service][]InstanceKey{}
	for _, k := range keys {
		k = k.normal()
		byService[k.Service] = append(byService[k.Service], k)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex // guards errs
	var errs []error
	for _, m := range ms {
		if m.State != "alive" || m.HTTPAddr == "" {
			continue
		}
		for s, ks := range byService {
			wg.Go(func() {
				if err := c.waitGoneAt(ctx, c.memberURL(m.HTTPAddr), s, ks); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("client: wait until %s (%s) dropped %s: %w", m.Name, m.HTTPAddr, s.Name, err))
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	return errors.Join(errs...)
}

// waitGoneAt waits until the node at base lists none of ks, which all
// belong to service s.
func (c *Client) waitGoneAt(ctx context.Context, base *url.URL, s Service, ks []InstanceKey) error {
	v, err := Query{Service: s}.values()
	if err != nil {
		return err
	}
	var index uint64
	for {
		body, err := c.listAt(ctx, base, v, index, c.cfg.WatchWait)
		if err != nil {
			if refused(err) {
				return nil
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			index = 0
			if err := sleep(ctx, c.cfg.BackoffMin); err != nil {
				return err
			}
			continue
		}
		if !slices.ContainsFunc(body.instances(), func(in Instance) bool { return slices.Contains(ks, in.Key().normal()) }) {
			return nil
		}
		index = body.Index
		if index == 0 { // a node that never saw a write: its queries do not block
			if err := sleep(ctx, c.cfg.BackoffMin); err != nil {
				return err
			}
		}
	}
}
