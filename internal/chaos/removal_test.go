package chaos

import (
	"testing"
	"time"
)

// TestCheck_fromLastBeat builds one history, a silent instance whose
// service changes owner twice (n1 killed at 6 s, n2 at 8 s) and which is
// gone from the survivor at 12.5 s, 7.4 s after it fell silent, and checks
// it twice: the takeover-based bounds accept it (the second takeover
// restarts the clock), the crashloop scenario's bounds, counted from the
// last beat, do not; both measure the same removal lateness.
func TestCheck_fromLastBeat(t *testing.T) {
	s := newSynth()
	s.beats(inst, 0, 5000) // last beat answered at 5005
	s.h.AddOp(Op{Kind: OpSilent, Inst: inst, Start: s.at(5100), End: s.at(5100)})
	s.owners([]string{"n3"}, 0, 20000, func(n string, t int) string {
		switch {
		case t < 6000:
			return "n1"
		case t < 8000:
			return "n2"
		}
		return "n3"
	})
	s.h.AddEvent(Event{Kind: EvKill, Node: "n1", T: s.at(6000)})
	s.h.AddEvent(Event{Kind: EvKill, Node: "n2", T: s.at(8000)})
	s.polls([]string{"n3"}, 0, 20000, func(n string, t int) map[string]bool {
		switch {
		case t < 6400:
			return healthy(t, 100)
		case t < 12500:
			return map[string]bool{inst.Addr(): false}
		}
		return map[string]bool{}
	})
	for _, fromLastBeat := range []bool{false, true} {
		b := DefaultBounds()
		b.FromLastBeat = fromLastBeat
		res := Check(s.h, b)
		removedLate := false
		for _, v := range res.Violations {
			removedLate = removedLate || v.Invariant == "expiry(removed)"
		}
		if removedLate != fromLastBeat {
			t.Errorf("FromLastBeat=%v: late-removal violation %v, want %v (violations %v)", fromLastBeat, removedLate, fromLastBeat, res.Violations)
		}
		// Gone at the poll answered at 12.503 s; due 3 s after the silence
		// began at 5.1 s (its last operation).
		if want := 4403 * time.Millisecond; res.Removals != 1 || res.RemovalLatenessMax != want || res.RemovalLatenessP99 != want {
			t.Errorf("FromLastBeat=%v: removals %d, lateness p99 %v max %v; want 1, %v", fromLastBeat, res.Removals,
				res.RemovalLatenessP99, res.RemovalLatenessMax, want)
		}
	}
}
