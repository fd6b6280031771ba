package node

import (
	"context"
	"errors"
	"time"

	"github.com/roster-io/roster/peer"
	"github.com/roster-io/roster/store"
)

// Beat routing. Beats for a service end at its owner, which alone times
// its instances out. A node that gets a beat for a service it does not own
// hands it on through the transport's queue to the owner, which batches
// whatever piles up while a request is in flight, so a flood of beats
// costs a few requests. If the owner cannot be reached in time the beat is
// handled here: the instance stays known, and the owner's expiry is what
// the client's next beats through a reachable node will correct.

// Beat records a heartbeat for instance ik of service k at its owner.
// When the instance is unknown and reregister is set, it is registered
// from it (Nacos' compensation). found is false when the instance is
// unknown and nothing re-registered it. interval is the beat interval the
// client should keep.
func (n *Node) Beat(ctx context.Context, k store.Key, ik store.InstanceKey, reregister *store.Instance) (interval time.Duration, found bool, err error) {
	if err := n.checkWritable(); err != nil {
		return 0, false, err
	}
	n.stats.beatsReceived.Add(1)
	if reregister != nil {
		if err := n.checkMetadata("beat.metadata", reregister.Metadata); err != nil {
			return 0, false, err
		}
	}
	return n.routeBeat(ctx, k, ik, reregister)
}

// routeBeat hands a beat on to its owner, or applies it here when this
// node owns the service or the owner cannot be reached in time.
func (n *Node) routeBeat(ctx context.Context, k store.Key, ik store.InstanceKey, reregister *store.Instance) (time.Duration, bool, error) {
	if owner, ok := n.cluster.ownerOf(k); ok && owner.Name != n.cfg.Name {
		a, err := n.peers.HandOff(ctx, owner.Name, peer.BeatCall{Key: k, Instance: ik, Register: reregister})
		switch {
		case err == nil && a.Error != "":
			return 0, false, &peer.RemoteError{Status: a.Status, Msg: a.Error}
		case err == nil:
			return a.Interval(), a.Found, nil
		}
		n.stats.handoffFailures.Add(1)
		n.log.Debug("beat hand-off failed; handling it here", "owner", owner.Name, "err", err)
	}
	return n.beatLocal(ctx, k, ik, reregister)
}

// HandleBeat applies a beat handed off to this node as its owner
// (peer.Receiver). A node that has not synced refuses it as stale, so the
// sender handles it: such a node owns nothing and holds nothing yet, and
// hand-offs reach it only from a sender that still takes it for the
// incarnation it replaced on the same address; re-registering from the
// beat there could bring back an instance deregistered meanwhile.
func (n *Node) HandleBeat(ctx context.Context, b peer.BeatCall) (time.Duration, bool, error) {
	if !n.synced.Load() {
		return 0, false, peer.ErrStaleHandoff
	}
	return n.beatLocal(ctx, b.Key, b.Instance, b.Register)
}

// beatLocal applies a beat to this node's store.
func (n *Node) beatLocal(ctx context.Context, k store.Key, ik store.InstanceKey, reregister *store.Instance) (time.Duration, bool, error) {
	defer n.brake.end(n.brake.begin(n.cfg.Now())) // the beat queue's age (brake.go)
	n.brake.wait(ctx)
	res, err := n.store.Beat(k, ik)
	if err == nil {
		if res.Changed {
			n.log.Debug("instance healthy again by beat", "service", k.String(), "instance", res.Instance.ID(k))
			_ = n.replicate(ctx, instanceRecord(k, res.Instance), false)
		}
		return n.answerInterval(res.Instance), true, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return 0, false, err
	}
	if reregister == nil {
		return store.DefaultBeatInterval, false, nil
	}
	in, err := n.store.RegisterWithin(k, *reregister, n.instanceLimits())
	if err != nil {
		return 0, false, limitError(err)
	}
	n.log.Debug("instance re-registered by beat", "service", k.String(), "instance", in.ID(k))
	if err := n.replicate(ctx, instanceRecord(k, in), true); err != nil {
		return 0, false, err
	}
	return n.answerInterval(in), true, nil
}

// answerInterval is the beat interval the owner answers a beat of in
// with. Clients adopt it as their next period (Nacos' clientBeatInterval,
// the Go client's beatIntervalMs), so an owner in a sustained overload
// asks for up to half the beats, rather than queueing or shedding them:
// twice the interval, at most the timeout less one interval, so that a
// beat sent that much later still has an interval to spare; never less
// than the interval. Sustained: its own signals have lasted two lags
// (stretch); a blip, a moment's scheduling delay, asks nothing of the
// clients. Once the overload ends the answer comes back to the interval
// over as long as the overload lasted, at most stretchRecovery of the
// instance's intervals, so the clients' beats return a few at a time:
// all at once, they would overload the owner again before the longer
// interval reached them, and queue past what it sheds.
func (n *Node) answerInterval(in store.Instance) time.Duration {
	iv := in.BeatInterval
	top := max(iv, min(2*iv, in.BeatTimeout-iv))
	if top == iv {
		return iv
	}
	left := n.stretch(n.cfg.Now(), stretchRecovery*iv)
	if left <= 0 {
		return iv
	}
	return (iv + time.Duration(left*float64(top-iv))).Round(time.Millisecond)
}

// stretch returns how much of the longer interval to answer at now: 1
// in a sustained overload, falling in a straight line to 0 after it
// over as long as it lasted, at most span; 0 after a blip or none.
func (n *Node) stretch(now time.Time, span time.Duration) float64 {
	lag := n.cfg.ExpiryBrakeLag
	if lag <= 0 {
		return 0
	}
	own := n.brake.ownAt.Load()
	lasted := time.Duration(own - n.brake.episodeAt.Load())
	if lasted < 2*lag {
		return 0
	}
	since := time.Duration(now.UnixNano()-own) - lag // past the overload
	span = min(span, lasted)
	switch {
	case since <= 0:
		return 1
	case since >= span:
		return 0
	}
	return 1 - float64(since)/float64(span)
}

// stretchRecovery is how many of an instance's intervals the interval
// an owner answers takes at most to come back from its stretch after an
// overload (answerInterval).
const stretchRecovery = 6
