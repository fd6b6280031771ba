package gossip

import "github.com/hashicorp/memberlist"

var _ memberlist.MergeDelegate = (*mergeDelegate)(nil)

// mergeDelegate sees the node list a peer sends during a join. If that list
// maps our name to another address, the peer still knows a previous run of
// this node, and the rejoin loop tries again. It accepts every merge.
type mergeDelegate struct {
	self *selfWatch
}

func (d *mergeDelegate) NotifyMerge(peers []*memberlist.Node) error {
	for _, n := range peers {
		d.self.check(n)
	}
	return nil
}
