package node

import (
	"context"
	"time"

	"github.com/roster-io/roster/peer"
)

// Last-heard reports. Only a service's owner hears its instances' beats.
// So that the node taking a partition over (after a crash, a join or a
// leave) can count expiry from the last beat instead of from the
// takeover, every owner reports to every member, each HeardInterval
// (to a member only when the report changed, or every heardRefresh),
// which partitions it owns and which of their instances it has not heard
// for store.QuietAfter, with how long (store/takeover.go). A node keeps,
// for each partition, the last report of it; at a takeover it uses the
// report if it is recent (heardHintTTL), and otherwise gives a full fresh
// timeout.

// heardRefresh is how often a member is sent a report that has not
// changed since it was last told (peer.Transport.ReportHeard). A changed
// report goes out at once and is re-sent until delivered, so while its
// sender lives a member's copy is the sender's report; a member takes its
// copy to hold until the sender left the cluster (heardHints.departed),
// and at most one refresh past its arrival. The refresh only bounds how
// long a copy is trusted when its sender's changes have not been getting
// through; sending an unchanged report every HeardInterval made each node
// send N-1 requests a second, and every few seconds (N-1)/3. It is 30 s,
// or a second per member in clusters of more than 30, so that an idle node
// renews at most one copy a second whatever N is (10 minutes at most, the
// longest a report may promise).
func (n *Node) heardRefresh() time.Duration {
	return min(max(30*n.cfg.HeardInterval, 30*time.Second, time.Duration(n.peers.Peers())*time.Second), 10*time.Minute)
}

// heardHintTTL is how old a report may be and still be used at a
// takeover: past a refresh plus failure detection, its sender should have
// renewed it; an older copy is from a sender whose reports stopped
// getting through, and is not trusted.
func (n *Node) heardHintTTL() time.Duration { return 2 * n.heardRefresh() }

// partitionOwners returns the owner of each partition in the ring as it is.
func (n *Node) partitionOwners() []string {
	out := make([]string, n.ring.PartitionCount())
	for p := range out {
		if m, ok := n.ring.PartitionOwner(p); ok {
			out[p] = m.Name
		}
	}
	return out
}

// runHeard sends this node's report every HeardInterval, and at once
// when ownership or the members change (kickHeard).
func (n *Node) runHeard() {
	t := time.NewTicker(n.cfg.HeardInterval)
	defer t.Stop()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
		case <-n.heardKick:
		}
		n.reportHeard()
	}
}

// kickHeard asks runHeard to report now.
func (n *Node) kickHeard() {
	select {
	case n.heardKick <- struct{}{}:
	default:
	}
}

// awaitReports holds a node that has just pulled the registry, before it
// turns ready and takes partitions over, until it holds a report of every
// partition from the member that owns it now (so it takes them over from
// their last-heard times), or for 3 HeardIntervals at most.
func (n *Node) awaitReports() {
	limit := time.Now().Add(3 * n.cfg.HeardInterval)
	for n.ctx.Err() == nil && time.Now().Before(limit) {
		missing := n.heard.uncovered(n.partitionOwners(), n.cfg.Name)
		if missing == 0 {
			return
		}
		select {
		case <-n.ctx.Done():
		case <-time.After(n.cfg.SyncRetry):
		}
	}
	if missing := n.heard.uncovered(n.partitionOwners(), n.cfg.Name); missing > 0 {
		n.log.Info("turning ready without a last-heard report of every partition: those get fresh timeouts",
			"partitions", missing)
	}
}

// reportHeard sends one report of the partitions this node sweeps.
func (n *Node) reportHeard() {
	owning := n.cluster.owning.Load()
	if !n.synced.Load() || owning == nil || n.peers.Peers() == 0 {
		return
	}
	var parts []peer.Heard
	for p, mine := range *owning {
		if !mine {
			continue
		}
		if q, ok := n.store.QuietIn(p); ok {
			parts = append(parts, peer.Heard{Partition: p, Quiet: q})
		}
	}
	ctx, cancel := context.WithTimeout(n.ctx, max(n.cfg.HeardInterval, 2*time.Second))
	defer cancel()
	if failed, err := n.peers.ReportHeard(ctx, len(*owning), parts, n.heardRefresh()); failed > 0 {
		n.log.Debug("last-heard report not delivered", "members", failed, "err", err)
	}
}
