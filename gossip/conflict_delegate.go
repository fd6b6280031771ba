package gossip

import "github.com/hashicorp/memberlist"

var _ memberlist.ConflictDelegate = (*conflictDelegate)(nil)

// conflictDelegate hears when an alive message names a known node at a
// different address. When the name is ours, the cluster still maps us to
// the address of a previous run, and the rejoin loop must try again once
// that address is declared dead. memberlist calls it with its nodeLock held,
// so it only records the fact.
type conflictDelegate struct {
	self *selfWatch
}

func (d *conflictDelegate) NotifyConflict(existing, other *memberlist.Node) {
	if existing.Name == d.self.name {
		d.self.report()
	}
}
