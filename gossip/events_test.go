package gossip

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
)

func member(name string, epoch int64) Member {
	return Member{Name: name, Addr: "127.0.0.1:1", Meta: Meta{Epoch: epoch}}
}

// drain reads n events from v.out.
func drain(t *testing.T, v *view, n int) []Event {
	t.Helper()
	var out []Event
	for range n {
		select {
		case ev := <-v.out:
			out = append(out, ev)
		case <-time.After(5 * time.Second):
			t.Fatalf("got %d events %v, want %d", len(out), out, n)
		}
	}
	return out
}

func runPump(t *testing.T, v *view) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		v.pump(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

func TestView_orderAndRestart(t *testing.T) {
	v := newView("a", Meta{Epoch: 1}, 16)
	runPump(t, v)
	v.apply(Event{Type: EventJoin, Member: member("a", 1)})
	v.apply(Event{Type: EventJoin, Member: member("b", 10)})
	v.apply(Event{Type: EventUpdate, Member: member("b", 10)})
	v.apply(Event{Type: EventLeave, Member: member("b", 10)})
	v.apply(Event{Type: EventJoin, Member: member("b", 11)})   // restarted after a crash
	v.apply(Event{Type: EventUpdate, Member: member("b", 12)}) // restarted in place

	got := drain(t, v, 6)
	want := []struct {
		typ       EventType
		epoch     int64
		restarted bool
	}{
		{EventJoin, 1, false},
		{EventJoin, 10, false},
		{EventUpdate, 10, false},
		{EventLeave, 10, false},
		{EventJoin, 11, true},
		{EventUpdate, 12, true},
	}
	for i, w := range want {
		ev := got[i]
		if ev.Type != w.typ || ev.Member.Meta.Epoch != w.epoch || ev.Restarted != w.restarted {
			t.Errorf("event %d: got %v epoch %d restarted %v, want %v epoch %d restarted %v",
				i, ev.Type, ev.Member.Meta.Epoch, ev.Restarted, w.typ, w.epoch, w.restarted)
		}
	}
	if got, want := memberNames(v.list()), []string{"a", "b"}; !slices.Equal(got, want) {
		t.Errorf("members: got %v, want %v", got, want)
	}
	if got := v.local(); got.Name != "a" || got.Addr == "" {
		t.Errorf("local: got %+v, want a with an address", got)
	}
}

func TestView_overflowBecomesResync(t *testing.T) {
	const limit = 3
	v := newView("self", Meta{}, limit)
	// No consumer yet: the first limit events queue, the next collapses the
	// queue into a resync marker, and later ones queue behind it.
	for i := range 10 {
		v.apply(Event{Type: EventJoin, Member: member(fmt.Sprintf("n%d", i), 1)})
	}
	v.apply(Event{Type: EventLeave, Member: member("n0", 1)})

	// 11 events: 3 queued, overflow drops them + 1 (marker), 2 queue, overflow
	// drops 2 + 1 again, ... Whatever the arithmetic, the queue ends with a
	// marker first and never holds more than limit events.
	v.mu.Lock()
	pending := slices.Clone(v.pending)
	v.mu.Unlock()
	if len(pending) == 0 || len(pending) > limit || pending[0].Type != EventResync {
		t.Fatalf("pending: got %v, want a resync first and at most %d events", pending, limit)
	}
	if got, want := v.droppedEvents()+uint64(len(pending))-1, uint64(11); got != want {
		t.Errorf("dropped+queued: got %d, want %d", got, want)
	}

	runPump(t, v)
	got := drain(t, v, len(pending))
	if got[0].Type != EventResync || got[0].Member != (Member{}) {
		t.Errorf("first event: got %+v, want a bare resync", got[0])
	}
	// The consumer rebuilds from the view, which saw every event.
	want := []string{"n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8", "n9"}
	if names := memberNames(v.list()); !slices.Equal(names, want) {
		t.Errorf("members after resync: got %v, want %v", names, want)
	}
	if last := got[len(got)-1]; last.Type != EventLeave || last.Member.Name != "n0" {
		t.Errorf("last event: got %+v, want leave n0", last)
	}
}

func TestView_applyNeverBlocks(t *testing.T) {
	v := newView("self", Meta{}, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 10000 {
			v.apply(Event{Type: EventUpdate, Member: member("x", int64(i))})
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("apply blocked with no consumer")
	}
}

func TestView_pumpClosesOut(t *testing.T) {
	v := newView("self", Meta{}, 4)
	v.apply(Event{Type: EventJoin, Member: member("x", 1)})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	v.pump(ctx) // returns at once; the queued event is discarded
	if _, ok := <-v.out; ok {
		t.Error("got an event from out, want it closed")
	}
}

func TestEventType_String(t *testing.T) {
	tests := []struct {
		typ  EventType
		want string
	}{
		{EventJoin, "join"}, {EventLeave, "leave"}, {EventUpdate, "update"}, {EventResync, "resync"}, {0, "unknown"},
	}
	for _, tt := range tests {
		if got := tt.typ.String(); got != tt.want {
			t.Errorf("%d: got %q, want %q", tt.typ, got, tt.want)
		}
	}
}
