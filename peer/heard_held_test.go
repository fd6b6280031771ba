package peer

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/roster-io/roster/store"
)

// heldReceiver holds reports of partitions 7 (from "n0") and 9 (from
// "n2").
type heldReceiver struct {
	streamReceiver
	held map[int]Held
	from string // who asked
}

func (r *heldReceiver) HeldHeard(asker string) map[int]Held {
	r.from = asker
	return r.held
}

// A node asks a peer for the reports the peer holds and gets them back
// on its own clock: each partition's sender, the quiet instances with
// their ages, when it arrived and how long it held, to the millisecond.
func TestHeldHeard_roundTrip(t *testing.T) {
	now := time.Now()
	hr := &heldReceiver{held: map[int]Held{
		7: {From: "n0", Hint: &store.Hint{At: now.Add(-10 * time.Second), Until: now.Add(-2 * time.Second), Quiet: []store.Quiet{{ID: 3, Age: 4 * time.Second}, {ID: 8, Age: time.Second}}}},
		9: {From: "n2", Hint: &store.Hint{At: now.Add(-10 * time.Second), Until: now.Add(-2 * time.Second)}},
	}}
	p := newStreamPairServing(t, []byte("secret"), false, false, nil, func(*streamReceiver) Receiver { return hr })
	got, err := p.tr.HeldHeard(context.Background(), p.m, 4093)
	if err != nil {
		t.Fatal(err)
	}
	if hr.from != "n0" {
		t.Errorf("the server looked up the report of %q, want the asking member n0", hr.from)
	}
	if len(got) != 2 || got[7].From != "n0" || got[9].From != "n2" {
		t.Fatalf("partitions %v, want 7 from n0 and 9 from n2", got)
	}
	h := got[7].Hint
	back := time.Since(now) + 50*time.Millisecond // the call's own time, and rounding
	if d := h.At.Sub(now.Add(-10 * time.Second)); d < -time.Millisecond || d > back {
		t.Errorf("arrival %v off by %v", h.At, d)
	}
	if d := h.Until.Sub(now.Add(-2 * time.Second)); d < -time.Millisecond || d > back {
		t.Errorf("last hold %v off by %v", h.Until, d)
	}
	if len(h.Quiet) != 2 || h.Quiet[0] != (store.Quiet{ID: 3, Age: 4 * time.Second}) || h.Quiet[1].ID != 8 {
		t.Errorf("quiet %+v, want IDs 3 (4s) and 8", h.Quiet)
	}
}

// A reply that does not fit the asker's ring, or whose times or entries
// are impossible, is refused whole, naming the field.
func TestHeldHeard_badRepliesRefused(t *testing.T) {
	now := time.Now()
	cases := []struct {
		name  string
		reply heldReply
		want  string
	}{
		{"another ring", heldReply{Partitions: 10}, "partitions"},
		{"out of range", heldReply{Partitions: 16, Parts: []heldPart{{Partition: 16, From: "a"}}}, "parts[0].p"},
		{"twice", heldReply{Partitions: 16, Parts: []heldPart{{Partition: 2, From: "a"}, {Partition: 2, From: "a"}}}, "parts[1].p"},
		{"no sender", heldReply{Partitions: 16, Parts: []heldPart{{Partition: 2}}}, "parts[0].from"},
		{"long sender", heldReply{Partitions: 16, Parts: []heldPart{{Partition: 2, From: strings.Repeat("a", maxHeldFrom+1)}}}, "parts[0].from"},
		{"held before it arrived", heldReply{Partitions: 16, Parts: []heldPart{{Partition: 2, From: "a", AtMS: 5, UntilMS: 6}}}, "until_ms"},
		{"negative age", heldReply{Partitions: 16, Parts: []heldPart{{Partition: 2, From: "a", AtMS: -1}}}, "at_ms"},
		{"too old", heldReply{Partitions: 16, Parts: []heldPart{{Partition: 2, From: "a", AtMS: maxQuietAge.Milliseconds() + 1}}}, "at_ms"},
		{"partial entry", heldReply{Partitions: 16, Parts: []heldPart{{Partition: 2, From: "a", Quiet: make([]byte, 13)}}}, "parts[0].quiet"},
	}
	for _, c := range cases {
		if _, err := c.reply.decode(16, now); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error naming %s", c.name, err, c.want)
		}
	}
}
