package node

import "time"

// Stale hand-offs. A node that hands a beat to its owner waits at most
// HandoffTimeout and then handles the beat itself, so a hand-off that
// reaches the owner later has been dealt with already, and acting on it
// can only do harm: a beat request caught in a partition sits in the
// sender's TCP buffer after the sender gave up, and when the partition
// heals the kernel delivers it; its re-registration body would then
// revive an instance its client deregistered in the meantime (found by
// the chaos suite's partition scenario). Each hand-off request carries
// its send time, and the owner refuses one older than HandoffTimeout plus
// handoffSkew, the clock difference between nodes it tolerates. A sender
// that is still waiting when told so (clocks further apart than that)
// handles the beat itself, as it does when the owner cannot be reached.

// handoffSkew is how far apart the nodes' clocks may be before fresh
// hand-offs count as stale.
const handoffSkew = time.Second

// errStaleHandoff answers the beats of a stale hand-off.
const errStaleHandoff = "node: stale beat hand-off: the sender has handled it itself"

// staleHandoff reports whether a hand-off sent at sent (unix nanoseconds,
// 0 when the sender did not say) is too old to act on at now.
func (n *Node) staleHandoff(sent int64, now time.Time) bool {
	return sent != 0 && now.Sub(time.Unix(0, sent)) > n.cfg.HandoffTimeout+handoffSkew
}
