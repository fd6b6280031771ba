package chaos

import "testing"

// TestCheck_brakeThenOwnerDeath: the owner holds its expiry brake past a
// silent instance's deadline and is SIGKILLed as the hold ends, before
// the moved deadline; the new owner gives the instance a fresh timeout
// from its takeover, so it is unhealthy only a timeout after that. Such
// a history passes; the same lateness with no owner death fails.
func TestCheck_brakeThenOwnerDeath(t *testing.T) {
	for _, kill := range []bool{true, false} {
		s := newSynth()
		s.owners(three, 0, 20000, func(n string, ms int) string {
			if kill && ms >= 8000 {
				return "n3"
			}
			return "n2"
		})
		// Last beat 5.005s, silent at 5.1s; n2 holds from 5.5s to 8s:
		// the moved deadline is 10.5s. n2 dies at 8s; the takeover is
		// at 11s (failure detection), so unhealthy by 13.5s and gone by
		// 15s.
		s.beats(inst, 0, 5000)
		s.h.AddOp(Op{Kind: OpSilent, Inst: inst, Start: s.at(5100), End: s.at(5100)})
		s.h.AddEvent(Event{Kind: EvBrake, Node: "n2", Since: s.at(5500), T: s.at(8000)})
		if kill {
			s.h.AddEvent(Event{Kind: EvKill, Node: "n2", T: s.at(7990)})
		}
		s.polls(three, 0, 20000, func(n string, ms int) map[string]bool {
			switch {
			case ms < 13000:
				return healthy(ms, 100)
			case ms < 14500:
				return map[string]bool{inst.Addr(): false}
			}
			return map[string]bool{}
		})
		vs := only(Check(s.h, DefaultBounds()).Violations, "expiry(unhealthy)")
		if kill && len(vs) > 0 {
			t.Errorf("owner killed at the hold's end: got %v, want no expiry violation (the takeover re-arms it)", vs)
		}
		if !kill && len(vs) == 0 {
			t.Error("no owner death: healthy 2.5 s past the moved deadline passed, want an expiry(unhealthy) violation")
		}
	}
}
