package peer

import "time"

// HeardPlan says which members need a changed last-heard report soon.
//
// A report that no longer lists as quiet an instance an earlier one did
// (it resumed, or its partition was lost) goes to every member whose copy
// predates it at once: that copy would make the instance look silent for
// longer than it is, and a takeover would expire it early. Any other
// change (partitions won or lost without quiet instances, instances going
// quiet: what a join, a leave, a node turning ready or a mass of clients
// falling silent makes) matters at once only to the members that take
// this node's partitions over if it fails (its heirs on the ring); sending
// it to all N-1 members made a start of N nodes cost on the order of N³
// requests. The other members get it in place of their next renewal. A
// member may so hold a copy that is out of date only in ways that make
// an expiry later, never earlier: one that lists a partition this node
// lost, or misses an instance that went quiet, makes the unlisted
// instances look more recently heard; one that lacks a partition this
// node gained leaves the member with another sender's report of it,
// which it does not use at a takeover from this node (a fresh timeout
// instead).
type HeardPlan struct {
	// Refresh is how often a member's copy of an unchanged report is
	// renewed; 0 sends the whole report to every member every time.
	Refresh time.Duration
	// Heirs tells the members that get any change at once; nil: every
	// member.
	Heirs func(name string) bool
	// Removals counts the reports of this node whose quiet instances
	// lacked one that the report before listed; the caller increments
	// it. A member sent its copy at a lower count gets the report at once.
	Removals uint64
	// Pace is the least time between two whole reports to an heir for
	// changes other than removals, so a node whose report keeps changing
	// (a start of many nodes) sends each heir one report per Pace, not
	// one per change. 0: at once.
	Pace time.Duration
}

// heardOwed counts the members whose acknowledged copy of this node's
// report is not the report of key (at removal count removals): those
// still owed it, at once, paced or with their next renewal.
func (t *Transport) heardOwed(key, removals uint64) int {
	qs := t.list()
	t.mu.Lock()
	defer t.mu.Unlock()
	owed := 0
	for _, q := range qs {
		last, ok := t.heardSent[q.m.Name]
		if !ok || last.epoch != q.m.Epoch || last.key != key || last.removals != removals {
			owed++
		}
	}
	return owed
}
