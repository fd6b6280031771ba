package node

import (
	"context"
	"time"

	"github.com/roster-io/roster/peer"
	"github.com/roster-io/roster/ring"
)

// Last-heard reports. Only a service's owner hears its instances' beats.
// So that the node taking a partition over (after a crash, a join or a
// leave) can count expiry from the last beat instead of from the
// takeover, every owner reports to every member, each HeardInterval
// (to a member only when the report changed, or every heardRefresh;
// peer.HeardPlan says to whom a change goes at once),
// which partitions it owns and which of their instances it has not heard
// for store.QuietAfter, with how long (store/takeover.go). A node keeps,
// for each partition, the last report of it; at a takeover it uses the
// report if it is recent (heardHintTTL), and otherwise gives a full fresh
// timeout.

// heardRefresh is how often a member is sent a report that has not
// changed since it was last told (peer.Transport.ReportHeardTo). A changed
// report goes out at once (a change of owned partitions alone, to the
// heirs only) and is re-sent until delivered, so while its sender lives
// a member's copy is the sender's report but for partitions won or lost
// (peer.HeardPlan); a member takes its
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

// ownersOfTaken returns the owner of each partition this node will take
// over when it turns ready ("" for the others, which stay where they
// are), or of every partition if the ring cannot tell (ring.OwnedWith).
func (n *Node) ownersOfTaken() []string {
	owners := n.partitionOwners()
	will, err := n.ring.OwnedWith(ring.Member{Name: n.cfg.Name, Addr: n.HTTPAddr()})
	if err != nil {
		return owners
	}
	taken := make([]string, len(owners))
	for _, p := range will {
		taken[p] = owners[p]
	}
	return taken
}

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

// runHeard sends this node's report every HeardInterval, and when
// ownership or the members change (kickHeard) after a settle of a fifth
// of it, so the changes of one burst of membership events make one
// report.
func (n *Node) runHeard() {
	t := time.NewTicker(n.cfg.HeardInterval)
	defer t.Stop()
	var h heirCache
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
		case <-n.heardKick:
			select {
			case <-n.ctx.Done():
				return
			case <-time.After(n.cfg.HeardInterval / 5):
			}
		}
		n.reportHeard(&h)
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
// partition it will take from the member that owns it now (so it takes
// them over from their last-heard times), or for 3 HeardIntervals at
// most.
func (n *Node) awaitReports() {
	limit := time.Now().Add(3 * n.cfg.HeardInterval)
	for n.ctx.Err() == nil && time.Now().Before(limit) {
		missing := n.heard.uncovered(n.ownersOfTaken(), n.cfg.Name)
		if missing == 0 {
			return
		}
		select {
		case <-n.ctx.Done():
		case <-time.After(n.cfg.SyncRetry):
		}
	}
	if missing := n.heard.uncovered(n.ownersOfTaken(), n.cfg.Name); missing > 0 {
		n.log.Info("turning ready without a last-heard report of every partition from its owner (the takeover's line says which instances get fresh timeouts)",
			"partitions", missing)
	}
}

// reportHeard sends one report of the partitions this node sweeps: a
// change of owned partitions alone at once to its heirs (h), at most one
// a heardPace, and to the others with their next renewal
// (peer.HeardPlan). A member turning ready waits for the reports of the
// partitions it takes (awaitReports); one it lacks, it gives fresh
// timeouts.
func (n *Node) reportHeard(h *heirCache) {
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
	plan := peer.HeardPlan{Refresh: n.heardRefresh(), Pace: n.heardPace(), Removals: h.removed(parts)}
	// Asked only of a member whose copy is out of date, so a node whose
	// report did not change does not place the ring again.
	plan.Heirs = func(name string) bool {
		heirs, ok := n.heirs(h)
		return !ok || heirs[name]
	}
	ctx, cancel := context.WithTimeout(n.ctx, max(n.cfg.HeardInterval, 2*time.Second))
	defer cancel()
	if failed, err := n.peers.ReportHeardTo(ctx, len(*owning), parts, plan); failed > 0 {
		n.log.Debug("last-heard report not delivered", "members", failed, "err", err)
	}
}

// heardPace is the least time between two reports to an heir for changes
// of owned partitions alone: two HeardIntervals. A node that fails
// within it of gaining partitions leaves its heirs without its report of
// those; they give their instances fresh timeouts.
func (n *Node) heardPace() time.Duration { return 2 * n.cfg.HeardInterval }

// heirCache is runHeard's own state: this node's heirs on one version of
// the ring, and the quiet instances of its last report with the count of
// reports that dropped one (peer.HeardPlan.Removals).
type heirCache struct {
	version  uint64
	heirs    map[string]bool
	ok       bool
	quiet    map[quietID]bool
	removals uint64
}

// quietID is one quiet instance of a report.
type quietID struct {
	part int
	id   uint64
}

// removed records parts as the last report and returns the count of
// reports that no longer listed a quiet instance the one before did.
func (h *heirCache) removed(parts []peer.Heard) uint64 {
	next := make(map[quietID]bool, len(h.quiet))
	for _, p := range parts {
		for _, q := range p.Quiet {
			next[quietID{p.Partition, q.ID}] = true
		}
	}
	for k := range h.quiet {
		if !next[k] {
			h.removals++
			break
		}
	}
	h.quiet = next
	return h.removals
}

// heirs returns the members that would take this node's partitions over
// if it left (ring.Heirs), recomputed when the ring changed; false when
// the ring could not tell.
func (n *Node) heirs(h *heirCache) (map[string]bool, bool) {
	v := n.ring.Version()
	if h.heirs != nil && h.version == v {
		return h.heirs, h.ok
	}
	names, err := n.ring.Heirs(n.cfg.Name)
	if err != nil {
		n.log.Warn("last-heard heirs unknown: a change goes to every member", "err", err)
	}
	h.version, h.ok, h.heirs = v, err == nil, make(map[string]bool, len(names))
	for _, name := range names {
		h.heirs[name] = true
	}
	return h.heirs, h.ok
}
