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
	logger *slog.Logger
}

func (d *eventDelegate) NotifyJoin(n *memberlist.Node)   { d.notify(EventJoin, n) }
func (d *eventDelegate) NotifyLeave(n *memberlist.Node)  { d.notify(EventLeave, n) }
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
