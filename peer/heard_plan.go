package peer

import "time"

// HeardPlan says which members need a changed last-heard report soon.
//
// A change of which instances are quiet goes to every member at once:
// a member whose copy listed an instance as quiet after it resumed would
// count its last beat too early. A change of owned partitions alone
// (partitions without quiet instances won or lost, what a join, a leave
// or a node turning ready makes) matters at once only to the members
// that take this node's partitions over if it fails (its heirs on the
// ring) and to those about to join; sending it to all N-1 members made a
// start of N nodes cost on the order of N³ requests. The others get it in
// place of their next renewal. A member may so hold a copy whose owned
// partitions are out of date: one that lists a partition this node no
// longer owns only makes the unlisted instances look more recently heard
// (their expiry comes later, never earlier), and one that lacks a
// partition this node gained leaves the member with another sender's
// report of it, which it does not use at a takeover from this node
// (a fresh timeout instead).
type HeardPlan struct {
	// Refresh is how often a member's copy of an unchanged report is
	// renewed; 0 sends the whole report to every member every time.
	Refresh time.Duration
	// Heirs tells the members that get a change of owned partitions
	// at once; nil: every member.
	Heirs func(name string) bool
	// Pace is the least time between two whole reports to an heir for
	// changes of owned partitions alone, so a node whose ownership keeps
	// changing (a start of many nodes) sends each heir one report per
	// Pace, not one per change. 0: at once.
	Pace time.Duration
}
