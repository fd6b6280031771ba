package node

import (
	"sync"
	"time"

	"github.com/roster-io/roster/peer"
	"github.com/roster-io/roster/ring"
	"github.com/roster-io/roster/store"
)

// heardHints holds the last report of each partition, and when each
// member that sent reports left the cluster.
type heardHints struct {
	mu    sync.Mutex
	parts map[int]partHint
	owned map[string]senderReport // each member's last report
	gone  map[string]time.Time    // members that left, since when (departed)
	// relayed are the last reports of each partition as the peer this
	// node synced from held them (heard_relayed.go); nil once used. self
	// is this node's name, the sender of its former incarnation's.
	relayed map[int]peer.Held
	self    string
	// late are the partitions taken over with fresh timeouts for want
	// of their owner before's report, awaiting it (heard_late.go).
	late map[int]lateTakeover
}

// senderReport is a member's last report: its key and partitions.
type senderReport struct {
	key   uint64
	parts []int
}

// partHint is one partition's last report: who sent it, when it arrived
// here (its quiet ages count from then), when its sender last confirmed
// it (the report or a renewal), how long past that the sender vouches for
// it (peer.Heard.Holds), and the quiet instances it listed.
type partHint struct {
	from     string
	at, seen time.Time
	holds    time.Duration
	quiet    []store.Quiet
}

// HandleHeard records member m's report (peer.Receiver).
func (n *Node) HandleHeard(m peer.Member, key uint64, parts []peer.Heard) {
	n.heard.record(m.Name, key, parts, n.cfg.Now())
	n.applyLate(m.Name, parts)
}

// RenewHeard records that m's report of key still stands (peer.Receiver).
func (n *Node) RenewHeard(m peer.Member, key uint64, holds time.Duration) bool {
	return n.heard.renew(m.Name, key, holds, n.cfg.Now())
}

// record keeps from's report of parts, arrived at now. A partition its
// previous report listed and this one does not, from no longer owns: its
// last report of it held only until now, when from stopped hearing its
// beats.
func (h *heardHints) record(from string, key uint64, parts []peer.Heard, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.parts == nil {
		h.parts, h.owned = map[int]partHint{}, map[string]senderReport{}
	}
	listed := make([]int, 0, len(parts))
	for _, p := range parts {
		h.parts[p.Partition] = partHint{from: from, at: now, seen: now, holds: p.Holds, quiet: p.Quiet}
		listed = append(listed, p.Partition)
	}
	for _, p := range h.owned[from].parts {
		ph, ok := h.parts[p]
		if ok && ph.from == from && ph.seen.Before(now) && ph.seen.Add(ph.holds).After(now) {
			ph.holds = now.Sub(ph.seen)
			h.parts[p] = ph
		}
	}
	h.owned[from] = senderReport{key: key, parts: listed}
}

// renew confirms from's last report of key at now, for holds more; false
// when its last report held here is another.
func (h *heardHints) renew(from string, key uint64, holds time.Duration, now time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	r, ok := h.owned[from]
	if !ok || r.key != key {
		return false
	}
	for _, p := range r.parts {
		if ph := h.parts[p]; ph.from == from {
			ph.seen, ph.holds = now, holds
			h.parts[p] = ph
		}
	}
	return true
}

// departed records, at a membership change at now, which members are
// live: one that is not left the cluster now (if it had not already), and
// its reports held no later than that; one that is has not left. Records
// older than ttl are dropped, their reports being too old to use.
func (h *heardHints) departed(live map[string]Member, now time.Time, ttl time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.gone == nil {
		h.gone = map[string]time.Time{}
	}
	for name := range h.owned {
		_, ok := live[name]
		_, known := h.gone[name]
		switch {
		case ok:
			delete(h.gone, name)
		case !known:
			h.gone[name] = now
		}
	}
	for name, at := range h.gone {
		if now.Sub(at) > ttl {
			delete(h.gone, name)
			delete(h.owned, name)
		}
	}
}

// hintsAt returns, for a takeover at now, partition p's last report if its
// sender confirmed it within ttl, whoever sent it (the takeover uses
// hintsFrom, which takes it from the partition's owner before only).
//
// A change of quiet instances comes at once, and one of owned partitions
// alone at once to the heirs and otherwise with the next renewal
// (peer.HeardPlan), so the copy is taken to hold until its
// sender left the cluster (or until now, if it has not), or stopped owning
// the partition, and at most its refresh past its last confirmation. Counting its
// unlisted instances' last-heard bound from the arrival alone would make
// them up to one refresh older than they are, and expire a silent one up
// to that much before its delete timeout; counting to the sender's
// departure makes them at most one failure detection younger.
func (h *heardHints) hintsAt(now time.Time, ttl time.Duration) func(p int) *store.Hint {
	return h.hintsFrom(nil, now, ttl, nil)
}

// hintMisses counts, for a takeover's log, the partitions taken over
// without a usable report from their owner before, by why: none held, the
// last one from another member, or one too old; and how many of those
// were read from a report copied from the peer synced from instead
// (relayed).
type hintMisses struct{ none, other, stale, relayed int }

// hintsFrom is hintsAt for a takeover from the owners before it
// (prev; nil: any sender): a report of p from another member than p's
// owner before is not used. Owners send a change of owned partitions
// alone at once only to their heirs (peer.HeardPlan), so a member may
// still hold an older owner's report of a partition its owner since
// gained, which says nothing of the beats the owner heard since.
// miss, when not nil, counts the partitions it gives no report for.
func (h *heardHints) hintsFrom(prev func(p int) string, now time.Time, ttl time.Duration, miss *hintMisses) func(p int) *store.Hint {
	if miss == nil {
		miss = &hintMisses{}
	}
	return func(p int) *store.Hint {
		h.mu.Lock()
		defer h.mu.Unlock()
		ph, ok := h.parts[p]
		gone, left := h.gone[ph.from]
		var none *int
		switch {
		case !ok:
			none = &miss.none
		case prev != nil && prev(p) != ph.from:
			none = &miss.other
		case now.Sub(ph.seen) > ttl:
			none = &miss.stale
		}
		delete(h.late, p)
		if none == nil {
			return hintOf(ph, gone, left, now, ttl)
		}
		if r := h.relayedFor(prev, p); r != nil {
			miss.relayed++
			return r
		}
		*none++
		h.awaitLateLocked(prev, p, now)
		return nil
	}
}

// hintOf is the hint a takeover at now reads from ph, its sender having
// left the cluster at gone (if left).
func hintOf(ph partHint, gone time.Time, left bool, now time.Time, ttl time.Duration) *store.Hint {
	until := ph.seen.Add(min(ph.holds, ttl))
	if until.After(now) {
		until = now
	}
	if left && gone.Before(until) {
		until = gone
		if until.Before(ph.seen) {
			until = ph.seen
		}
	}
	return &store.Hint{At: ph.at, Until: until, Quiet: ph.quiet}
}

// uncovered counts the partitions owned by a member other than self
// whose last report did not come from that owner, leaving out those the
// takeover can read from a copied report (coveredByRelayed).
func (h *heardHints) uncovered(owners []string, self string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	sets := map[string]map[int]bool{} // each owner's claimed partitions, built when asked
	claimed := func(o string, p int) (reported, claims bool) {
		r, ok := h.owned[o]
		if !ok {
			return false, false
		}
		if sets[o] == nil {
			sets[o] = make(map[int]bool, len(r.parts))
			for _, q := range r.parts {
				sets[o][q] = true
			}
		}
		return true, sets[o][p]
	}
	missing := 0
	for p, o := range owners {
		if o == "" || o == self {
			continue
		}
		if ph, ok := h.parts[p]; ok && ph.from == o {
			continue
		}
		if h.coveredByRelayed(p, o, claimed) {
			continue
		}
		missing++
	}
	return missing
}

// ownerNames returns the name of each partition's owner in v ("" when it
// has none).
func ownerNames(v ring.View) func(p int) string {
	return func(p int) string {
		m, _ := v.PartitionOwner(p)
		return m.Name
	}
}
