package node

import (
	"time"

	"github.com/roster-io/roster/peer"
)

// Late reports. A node turning ready waits at most three HeardIntervals
// for the reports of the partitions it takes over (awaitReports); one
// that comes later (a loaded owner before, or a slow network) found the
// instances already given a full fresh timeout from the takeover, which
// removes a silent one up to a whole delete timeout late. So a partition
// taken over fresh for want of its owner before's report waits for that
// report, for as long as a report is trusted (heardHintTTL), and when it
// comes listing the partition its instances are re-armed from it as at
// the takeover. The report was built while its sender still owned the
// partition, so its ages, counted from its arrival, make every instance
// look at least as recently heard as it was; beats this node handled
// since the takeover count as direct evidence (store.TakeOver), and the
// grace runs from the re-arming.

// lateTakeover is a partition taken over with fresh timeouts: from whom,
// and when.
type lateTakeover struct {
	prev string
	at   time.Time
}

// awaitLateLocked records that partition p, taken over at now from its
// owner before (prev), got fresh timeouts. h.mu is held.
func (h *heardHints) awaitLateLocked(prev func(p int) string, p int, now time.Time) {
	if prev == nil || prev(p) == "" {
		return
	}
	if h.late == nil {
		h.late = map[int]lateTakeover{}
	}
	h.late[p] = lateTakeover{prev: prev(p), at: now}
}

// lateFrom returns the partitions of parts that were taken over fresh
// from from within ttl (asked of ttlOf only when some wait) of now and
// are still waiting, and forgets them; those older than ttl are
// forgotten too.
func (h *heardHints) lateFrom(from string, parts []peer.Heard, now time.Time, ttlOf func() time.Duration) []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.late) == 0 {
		return nil
	}
	ttl := ttlOf()
	var due []int
	for _, hp := range parts {
		if l, ok := h.late[hp.Partition]; ok && l.prev == from {
			delete(h.late, hp.Partition)
			if now.Sub(l.at) <= ttl {
				due = append(due, hp.Partition)
			}
		}
	}
	for p, l := range h.late {
		if now.Sub(l.at) > ttl {
			delete(h.late, p)
		}
	}
	return due
}

// applyLate re-arms the instances of the partitions this node owns that
// were taken over fresh from from, now that from's report of them came.
func (n *Node) applyLate(from string, parts []peer.Heard) {
	now := n.cfg.Now()
	due := n.heard.lateFrom(from, parts, now, n.heardHintTTL)
	if len(due) == 0 {
		return
	}
	owning := n.cluster.owning.Load()
	if owning == nil {
		return
	}
	mine := due[:0]
	for _, p := range due {
		if p < len(*owning) && (*owning)[p] {
			mine = append(mine, p)
		}
	}
	if len(mine) == 0 {
		return
	}
	took := n.store.TakeOver(mine, n.heard.hintsFrom(func(int) string { return from }, now, n.heardHintTTL(), nil))
	n.log.Info("a last-heard report came after the takeover: its instances count from it, not from the takeover",
		"from", from, "partitions", len(mine), "services", took.Services, "quiet", took.Quiet, "heard", took.Heard)
}
