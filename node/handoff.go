package node

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/roster-io/roster/store"
)

// Beat routing. Beats for a service end at its owner, which alone times
// its instances out. A node that gets a beat for a service it does not own
// hands it on through the owner's queue, which batches whatever piles up
// while a request is in flight, so a flood of beats costs a few requests.
// If the owner cannot be reached the beat is handled here: the instance
// stays known, and the owner's expiry is what the client's next beats
// through a reachable node will correct.

// beatCall is one handed-off beat.
type beatCall struct {
	Key      store.Key         `json:"key"`
	Instance store.InstanceKey `json:"instance"`
	// Register, when set, re-registers the instance if it is unknown.
	Register *store.Instance `json:"register,omitempty"`
}

// beatAnswer is the owner's answer to one beat.
type beatAnswer struct {
	Found      bool   `json:"found"`
	IntervalMs int64  `json:"intervalMs"`
	Error      string `json:"error,omitempty"`
	Status     int    `json:"status,omitempty"` // HTTP status of Error
}

// beatsRequest is the body of POST /internal/v1/beats. Sent is the
// sender's clock (unix nanoseconds) when it sent the request; see
// handoff_stale.go.
type beatsRequest struct {
	Beats []beatCall `json:"beats"`
	Sent  int64      `json:"sent,omitempty"`
}

// beatsReply answers it, one answer per beat in order.
type beatsReply struct {
	Answers []beatAnswer `json:"answers"`
}

// beat records a heartbeat for instance ik of service k at its owner.
// When the instance is unknown and reregister is set, it is registered
// from it (Nacos' compensation). found is false when the instance is
// unknown and nothing re-registered it.
func (n *Node) beat(ctx context.Context, k store.Key, ik store.InstanceKey, reregister *store.Instance) (interval time.Duration, found bool, err error) {
	if err := n.checkWritable(); err != nil {
		return 0, false, err
	}
	n.stats.beatsReceived.Add(1)
	if reregister != nil {
		if err := n.checkMetadataSize("beat.metadata", reregister.Metadata); err != nil {
			return 0, false, err
		}
	}
	if n.cluster != nil {
		if owner, ok := n.cluster.ownerOf(k); ok && owner.Name != n.cfg.Name {
			if a, err := n.handOff(ctx, owner.Name, beatCall{Key: k, Instance: ik, Register: reregister}); err == nil && a.Error != errStaleHandoff {
				if a.Error != "" {
					return 0, false, &statusError{status: a.Status, msg: a.Error}
				}
				return time.Duration(a.IntervalMs) * time.Millisecond, a.Found, nil
			} else {
				n.stats.handoffFailures.Add(1)
				n.log.Debug("beat hand-off failed; handling it here", "owner", owner.Name, "err", err)
			}
		}
	}
	return n.beatLocal(ctx, k, ik, reregister)
}

// handOff sends a beat to its owner and waits for the answer.
func (n *Node) handOff(ctx context.Context, owner string, call beatCall) (beatAnswer, error) {
	p, ok := n.cluster.peerNamed(owner)
	if !ok {
		return beatAnswer{}, errors.New("node: owner has no queue")
	}
	done := make(chan batchResult[beatAnswer], 1)
	if !p.beats.enqueue(call, done) {
		return beatAnswer{}, errors.New("node: hand-off queue full")
	}
	timer := time.NewTimer(n.cfg.HandoffTimeout)
	defer timer.Stop()
	select {
	case r := <-done:
		return r.val, r.err
	case <-timer.C:
		return beatAnswer{}, errors.New("node: hand-off timed out")
	case <-ctx.Done():
		return beatAnswer{}, ctx.Err()
	}
}

// beatLocal applies a beat to this node's store.
func (n *Node) beatLocal(ctx context.Context, k store.Key, ik store.InstanceKey, reregister *store.Instance) (time.Duration, bool, error) {
	res, err := n.store.Beat(k, ik)
	if err == nil {
		if res.Changed {
			n.log.Debug("instance healthy again by beat", "service", k.String(), "instance", res.Instance.ID(k))
			_ = n.replicate(ctx, instanceRecord(k, res.Instance), false)
		}
		return res.Instance.BeatInterval, true, nil
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
	return in.BeatInterval, true, nil
}

// sendBeats hands a batch of beats to m.
func (n *Node) sendBeats(ctx context.Context, m member, batch []beatCall) ([]beatAnswer, error) {
	var reply beatsReply
	n.stats.handoffBatches.Add(1)
	n.stats.handoffBeats.Add(uint64(len(batch)))
	if err := n.peers.call(ctx, m.Name, m.HTTPAddr, http.MethodPost, "/internal/v1/beats", &beatsRequest{Beats: batch, Sent: n.cfg.Now().UnixNano()}, &reply); err != nil {
		return nil, err
	}
	return reply.Answers, nil
}
