package node

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/roster-io/roster/store"
)

// BeatOutcome is what one beat of a batch did, as Beat reports it.
type BeatOutcome struct {
	Interval time.Duration
	Found    bool
	Err      error
}

// handOffWorkers bounds the beats of one batch handed off at once.
const handOffWorkers = 16

// BeatBatch records the light beats of keys (no re-registration), one
// outcome per key in order, as Beat would one by one. The beats of
// services this node owns are applied together (store.BeatMany: one hold
// of the store's lock per chunk, not per beat); the others are handed on
// to their owners concurrently, as single beats would be.
func (n *Node) BeatBatch(ctx context.Context, keys []store.BeatKey) []BeatOutcome {
	out := make([]BeatOutcome, len(keys))
	if err := n.checkWritable(); err != nil {
		for i := range out {
			out[i].Err = err
		}
		return out
	}
	n.stats.beatsReceived.Add(uint64(len(keys)))
	var local, remote []int
	for i, bk := range keys {
		if owner, ok := n.cluster.ownerOf(bk.Service); ok && owner.Name != n.cfg.Name {
			remote = append(remote, i)
		} else {
			local = append(local, i)
		}
	}
	var wg sync.WaitGroup
	if len(remote) > 0 {
		next := make(chan int)
		for range min(handOffWorkers, len(remote)) {
			wg.Go(func() {
				for i := range next {
					o := &out[i]
					o.Interval, o.Found, o.Err = n.routeBeat(ctx, keys[i].Service, keys[i].Instance, nil)
				}
			})
		}
		go func() {
			defer close(next)
			for _, i := range remote {
				next <- i
			}
		}()
	}
	if len(local) > 0 {
		n.beatLocalMany(ctx, keys, local, out)
	}
	wg.Wait()
	return out
}

// beatLocalMany applies the beats keys[i] for i in idx to this node's
// store, writing their outcomes to out.
func (n *Node) beatLocalMany(ctx context.Context, keys []store.BeatKey, idx []int, out []BeatOutcome) {
	defer n.brake.end(n.brake.begin(n.cfg.Now())) // the beat queue's age (brake.go)
	n.brake.wait(ctx)
	sel := make([]store.BeatKey, len(idx))
	for j, i := range idx {
		sel[j] = keys[i]
	}
	res := make([]store.BeatOutcome, len(sel))
	n.store.BeatMany(sel, res)
	for j, i := range idx {
		o, r := &out[i], res[j]
		switch {
		case r.Err == nil:
			o.Interval, o.Found = r.Result.Instance.BeatInterval, true
			if r.Result.Changed {
				n.log.Debug("instance healthy again by beat", "service", sel[j].Service.String(), "instance", r.Result.Instance.ID(sel[j].Service))
				_ = n.replicate(ctx, instanceRecord(sel[j].Service, r.Result.Instance), false)
			}
		case errors.Is(r.Err, store.ErrNotFound):
			o.Interval = store.DefaultBeatInterval
		default:
			o.Err = r.Err
		}
	}
}
