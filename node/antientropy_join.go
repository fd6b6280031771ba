package node

import "time"

// Anti-entropy on join. A member that joins ready — the far side of a
// healed network partition, or a node whose traffic was cut and comes
// back — has diverged by whatever either side wrote meanwhile, and
// replication never resends it. Periodic exchanges with random peers find
// it only when they happen to pick that member, and then defer the
// partitions that are busy with client writes for a round, which left a
// healed partition's beating instances listed unhealthy, and its
// deregistered ones listed, for five seconds and more (chaos partition
// scenario, seed 1201). So a node exchanges at once with each member that
// joins ready, repairs every differing partition without deferral, and
// retries while the member does not yet accept it: each side learns of
// the other on its own gossip schedule, and a member refuses internal
// requests from nodes it does not yet know.

// joinExchangeTries bounds the attempts at one join exchange, and
// joinExchangeRetry spaces them.
const (
	joinExchangeTries = 5
	joinExchangeRetry = 200 * time.Millisecond
)

// kickJoinExchange queues an exchange with a member that just joined
// ready. It never blocks: with the queue full the periodic exchanges
// repair instead.
func (n *Node) kickJoinExchange(name string) {
	select {
	case n.aeJoins <- name:
	default:
	}
}

// runJoinExchanges runs the queued join exchanges until the node stops.
func (n *Node) runJoinExchanges() {
	for {
		select {
		case <-n.ctx.Done():
			return
		case name := <-n.aeJoins:
			n.joinExchange(name)
		}
	}
}

// joinExchange exchanges with member name, retrying while it refuses or
// cannot be reached, for as long as it is a ready member.
func (n *Node) joinExchange(name string) {
	for try := 0; try < joinExchangeTries; try++ {
		if try > 0 && !n.sleep(joinExchangeRetry) {
			return
		}
		m, ok := n.cluster.member(name)
		if !ok || !m.Ready || m.HTTPAddr == "" || !n.synced.Load() {
			return
		}
		repaired, err := n.exchange(m, true)
		n.countExchange(name, repaired, err, "member joined")
		if err == nil {
			return
		}
	}
}
