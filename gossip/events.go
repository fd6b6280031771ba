package gossip

// The membership view and the event queue.
//
// memberlist's event callbacks update view synchronously (a map write under
// view.mu) and append to a bounded queue; one pump goroutine moves queued
// events to the unbuffered Events channel. A consumer that falls behind by
// more than the buffer loses the queued events, which are replaced by one
// EventResync, and reads Members instead. Nothing here ever blocks a
// memberlist callback.

import (
	"context"
	"slices"
	"strings"
	"sync"
)

// EventType says what happened to a member.
type EventType int

const (
	// EventJoin reports a member that became alive: a new node, or one that
	// was dead or had left.
	EventJoin EventType = iota + 1

	// EventLeave reports a member that left gracefully or was declared dead.
	EventLeave

	// EventUpdate reports a live member whose metadata changed, including a
	// node restarted on the same address before it was declared dead
	// (Restarted is set then).
	EventUpdate

	// EventResync reports that the consumer fell behind and events were
	// dropped. Member is zero. The consumer must replace its view with
	// Members and then go on applying events.
	EventResync
)

// String returns "join", "leave", "update" or "resync".
func (t EventType) String() string {
	switch t {
	case EventJoin:
		return "join"
	case EventLeave:
		return "leave"
	case EventUpdate:
		return "update"
	case EventResync:
		return "resync"
	}
	return "unknown"
}

// Member is one node of the cluster. It is a value; nothing in it is shared.
type Member struct {
	// Name is the node's unique name.
	Name string
	// Addr is the node's gossip address, host:port.
	Addr string
	// Meta is the node's published metadata. It is zero when the node's
	// metadata could not be decoded (a newer or foreign peer).
	Meta Meta
}

// Event is one membership change.
type Event struct {
	// Type says what happened.
	Type EventType

	// Member is the member as it is after the change; for EventLeave, as it
	// was last known.
	Member Member

	// Restarted is set on EventJoin and EventUpdate when Member.Meta.Epoch
	// differs from the epoch last seen under this name: the node's process
	// was restarted and has lost its in-memory state.
	Restarted bool
}

// view is the membership as memberlist reported it, plus the queue of events
// not yet handed to the consumer. It is safe for concurrent use.
type view struct {
	selfName string
	limit    int
	wake     chan struct{} // capacity 1; signals the pump
	out      chan Event

	// mu guards the fields below.
	mu      sync.Mutex
	members map[string]Member
	epochs  map[string]int64 // last epoch seen per name, kept after a leave
	self    Member           // last known local member, kept after a leave
	pending []Event
	dropped uint64 // events dropped by overflow, in total
}

func newView(selfName string, self Meta, limit int) *view {
	return &view{
		selfName: selfName,
		limit:    limit,
		wake:     make(chan struct{}, 1),
		out:      make(chan Event),
		members:  make(map[string]Member),
		epochs:   make(map[string]int64),
		self:     Member{Name: selfName, Meta: self},
	}
}

// apply records ev in the view and queues it. It never blocks.
func (v *view) apply(ev Event) {
	v.mu.Lock()
	m := ev.Member
	switch ev.Type {
	case EventJoin, EventUpdate:
		if prev, seen := v.epochs[m.Name]; seen && prev != m.Meta.Epoch {
			ev.Restarted = true
		}
		v.epochs[m.Name] = m.Meta.Epoch
		v.members[m.Name] = m
		if m.Name == v.selfName {
			v.self = m
		}
	case EventLeave:
		delete(v.members, m.Name)
	}
	v.enqueueLocked(ev)
	v.mu.Unlock()

	select {
	case v.wake <- struct{}{}:
	default:
	}
}

// enqueueLocked appends ev, collapsing the queue into one EventResync when
// it is full.
func (v *view) enqueueLocked(ev Event) {
	if len(v.pending) >= v.limit {
		n := uint64(len(v.pending))
		if v.pending[0].Type == EventResync {
			n-- // the marker itself is not a dropped event
		}
		v.dropped += n + 1
		clear(v.pending)
		v.pending = append(v.pending[:0], Event{Type: EventResync})
		return
	}
	v.pending = append(v.pending, ev)
}

// pump hands queued events to out until ctx is done, then closes out.
func (v *view) pump(ctx context.Context) {
	defer close(v.out)
	for {
		v.mu.Lock()
		if len(v.pending) == 0 {
			v.mu.Unlock()
			select {
			case <-v.wake:
				continue
			case <-ctx.Done():
				return
			}
		}
		ev := v.pending[0]
		v.pending[0] = Event{}
		v.pending = v.pending[1:]
		if len(v.pending) == 0 {
			v.pending = v.pending[:0:0] // let the backing array go
		}
		v.mu.Unlock()

		select {
		case v.out <- ev:
		case <-ctx.Done():
			return
		}
	}
}

// list returns the members sorted by name.
func (v *view) list() []Member {
	v.mu.Lock()
	out := make([]Member, 0, len(v.members))
	for _, m := range v.members {
		out = append(out, m)
	}
	v.mu.Unlock()
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func (v *view) len() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.members)
}

func (v *view) local() Member {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.self
}

// setLocalMeta changes the local member's metadata before Start.
func (v *view) setLocalMeta(m Meta) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.self.Meta = m
}

func (v *view) droppedEvents() uint64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.dropped
}
