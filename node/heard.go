package node

import (
	"context"
	"sync"
	"time"

	"github.com/roster-io/roster/peer"
	"github.com/roster-io/roster/store"
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

// heardHintTTL is how old a report may be and still be used at a
// takeover: long enough to outlive failure detection after its sender's
// crash, short enough that a report stuck behind a partition is not
// trusted.
func (n *Node) heardHintTTL() time.Duration { return max(10*n.cfg.HeardInterval, 5*time.Second) }

// heardRefresh is how often a member is sent a report that has not
// changed since it was last told (peer.Transport.ReportHeard): a third of
// heardHintTTL, so that a member's copy, plus the time to detect its
// sender's crash, stays within the TTL. An unchanged report means no
// instance went quiet meanwhile, so the copy is as good as a fresh one;
// sending it to every member every HeardInterval made each node send N-1
// requests a second.
func (n *Node) heardRefresh() time.Duration { return n.heardHintTTL() / 3 }

// heardHints holds the last report of each partition.
type heardHints struct {
	mu    sync.Mutex
	parts map[int]partHint
}

// partHint is one partition's last report: who sent it, when it arrived
// here, how long past that its sender vouches for it (peer.Heard.Holds),
// and the quiet instances it listed.
type partHint struct {
	from  string
	at    time.Time
	holds time.Duration
	quiet []store.Quiet
}

// HandleHeard records member m's report (peer.Receiver).
func (n *Node) HandleHeard(m peer.Member, parts []peer.Heard) {
	now := n.cfg.Now()
	h := &n.heard
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.parts == nil {
		h.parts = map[int]partHint{}
	}
	listed := make(map[int]bool, len(parts))
	for _, p := range parts {
		h.parts[p.Partition] = partHint{from: m.Name, at: now, holds: p.Holds, quiet: p.Quiet}
		listed[p.Partition] = true
	}
	// A partition m no longer owns: its last report of it held only
	// until now, when m stopped hearing its beats.
	for p, ph := range h.parts {
		if ph.from == m.Name && !listed[p] && ph.at.Add(ph.holds).After(now) {
			ph.holds = now.Sub(ph.at)
			h.parts[p] = ph
		}
	}
}

// hintsAt returns, for a takeover at now, partition p's last report if it
// arrived within ttl. It is normally the former owner's; when that owner
// died before it reported the partition (it had only just taken it over),
// it is the owner's before, whose report is still true as of when it was
// made: the grace a takeover gives covers an instance that resumed since.
//
// The report is taken to hold until its sender's refresh after its
// arrival (at most now, and only while its sender still owned the
// partition): the sender would have sent a changed report by then.
// Counting its unlisted instances' last-heard bound from the arrival
// alone would make them up to one refresh older than they are, and expire
// a silent one up to that much before its delete timeout.
func (h *heardHints) hintsAt(now time.Time, ttl time.Duration) func(p int) *store.Hint {
	return func(p int) *store.Hint {
		h.mu.Lock()
		ph, ok := h.parts[p]
		h.mu.Unlock()
		if !ok || now.Sub(ph.at) > ttl {
			return nil
		}
		// Unchanged reports come only every refresh: the copy held until
		// then unless a changed one came, and no later than now.
		until := ph.at.Add(min(ph.holds, ttl))
		if until.After(now) {
			until = now
		}
		return &store.Hint{At: ph.at, Until: until, Quiet: ph.quiet}
	}
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

// uncovered counts the partitions owned by a member other than self
// whose last report did not come from that owner.
func (h *heardHints) uncovered(owners []string, self string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	missing := 0
	for p, o := range owners {
		if o == "" || o == self {
			continue
		}
		if ph, ok := h.parts[p]; !ok || ph.from != o {
			missing++
		}
	}
	return missing
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
