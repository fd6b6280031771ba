package gossip

import (
	"log/slog"
	"net"
	"strconv"

	"github.com/hashicorp/memberlist"
)

var _ memberlist.EventDelegate = (*eventDelegate)(nil)

// eventDelegate turns memberlist's join, leave and update callbacks into
// Events. memberlist calls it with its nodeLock held, so it copies the node,
// updates the view and returns; it never calls memberlist.
type eventDelegate struct {
	view   *view
	failed *failedSet
	logger *slog.Logger
}

func (d *eventDelegate) NotifyJoin(n *memberlist.Node) {
	d.failed.remove(n.Name)
	d.notify(EventJoin, n)
}

// NotifyLeave records the member for reconnection. memberlist v0.5 does not
// say whether the node failed or left (Node.State is not kept up to date
// in callbacks), so graceful leavers are tried too; joining a node that
// is gone fails at once and costs one refused connection per attempt.
func (d *eventDelegate) NotifyLeave(n *memberlist.Node) {
	d.failed.add(n.Name, nodeAddr(n))
	d.notify(EventLeave, n)
}

func (d *eventDelegate) NotifyUpdate(n *memberlist.Node) { d.notify(EventUpdate, n) }

func (d *eventDelegate) notify(t EventType, n *memberlist.Node) {
	meta, err := decodeMeta(n.Meta)
	if err != nil && t != EventLeave {
		d.logger.Warn("gossip: member has unreadable metadata, treating it as unknown",
			"member", n.Name, "addr", nodeAddr(n), "err", err)
	}
	d.view.apply(Event{Type: t, Member: Member{Name: n.Name, Addr: nodeAddr(n), Meta: meta}})
}

// nodeAddr returns n's gossip address as host:port.
func nodeAddr(n *memberlist.Node) string {
	return net.JoinHostPort(n.Addr.String(), strconv.Itoa(int(n.Port)))
}
