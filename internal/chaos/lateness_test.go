package chaos

import (
	"strings"
	"testing"
	"time"
)

// TestCheck_harnessLateBeat checks that a beat the harness itself sent
// late is reported as harness lateness, not as a roster violation: the
// instance may go unhealthy across the gap, and the gap is counted.
func TestCheck_harnessLateBeat(t *testing.T) {
	tests := []struct {
		name     string
		due      int // when the late beat was due (ms)
		wantGaps int
	}{
		{"due on schedule, sent 2s late: a harness gap", 3500, 1},
		{"due when sent: the client paused, no harness gap", 5500, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSynth()
			s.h.AddOp(Op{Kind: OpRegister, Inst: inst, Node: "n1", Start: s.at(0), End: s.at(5), OK: true})
			add := func(due, sent int) {
				s.h.AddOp(Op{Kind: OpBeat, Inst: inst, Node: "n1", Due: s.at(due), Start: s.at(sent), Sent: s.at(sent),
					End: s.at(sent + 5), OK: true})
			}
			for ms := 500; ms <= 3000; ms += 500 {
				add(ms, ms)
			}
			add(tt.due, 5500)
			for ms := 6000; ms <= 20000; ms += 500 {
				add(ms, ms)
			}
			// Unhealthy from 4.5s (no beat for its 1.5s timeout) until the
			// late beat lands.
			s.polls(three, 0, 20000, func(n string, ms int) map[string]bool {
				if ms >= 4600 && ms < 5600 {
					return map[string]bool{inst.Addr(): false}
				}
				return healthy(ms, 200)
			})
			res := Check(s.h, DefaultBounds())
			for _, v := range res.Violations {
				t.Errorf("got violation %s", v)
			}
			if res.HarnessGaps != tt.wantGaps {
				t.Errorf("got %d harness gaps, want %d", res.HarnessGaps, tt.wantGaps)
			}
			if want := time.Duration(5500-tt.due) * time.Millisecond; res.WorstBeatLateness != want {
				t.Errorf("got worst beat lateness %v, want %v", res.WorstBeatLateness, want)
			}
		})
	}
}

// TestCheck_harnessStall checks that what the harness recorded during
// its own stall (and as long again after it) is not held against roster,
// while the same answers outside a stall are violations.
func TestCheck_harnessStall(t *testing.T) {
	for _, stalled := range []bool{true, false} {
		s := newSynth()
		s.beats(inst, 0, 20000)
		// Every poll of every node fails from 5s to 7s.
		for ms := 0; ms < 20000; ms += 100 {
			for _, n := range three {
				o := Obs{Node: n, Service: "svc", Start: s.at(ms), End: s.at(ms + 3), Status: 200, List: healthy(ms, 200)}
				if ms >= 5000 && ms < 7000 {
					o.Status, o.List, o.End = 0, nil, s.at(ms+1000)
				}
				s.h.AddObs(o)
			}
		}
		if stalled {
			s.h.AddEvent(Event{Kind: EvStall, Since: s.at(4900), T: s.at(6200), Detail: "harness stalled 1.3s"})
		}
		res := Check(s.h, DefaultBounds())
		if stalled && (len(res.Violations) != 0 || res.HarnessStalls != 1 || res.WorstStall != 1300*time.Millisecond) {
			t.Errorf("stalled: got %d violations (%v), %d stalls, worst %v; want none, 1, 1.3s", len(res.Violations), res.Violations, res.HarnessStalls, res.WorstStall)
		}
		if !stalled && (len(res.Violations) == 0 || res.Violations[0].Invariant != "availability") {
			t.Errorf("not stalled: got %v, want an availability violation", res.Violations)
		}
	}
}

// TestCheck_slowTakeover checks that a silent instance's expiry counts
// from when the survivors were seen to take over its dead owner's
// services, when that came after the failure-detection bound, and that
// the delay is reported; with a prompt takeover the same late expiry is a
// violation.
func TestCheck_slowTakeover(t *testing.T) {
	for _, slow := range []bool{true, false} {
		s := newSynth()
		s.beats(inst, 0, 1000)
		s.h.AddOp(Op{Kind: OpSilent, Inst: inst, Node: "n2", Start: s.at(1100), End: s.at(1100), OK: true})
		s.h.AddEvent(Event{Kind: EvKill, Node: "n1", T: s.at(1500)})
		s.h.AddEvent(Event{Kind: EvStart, Node: "n1", T: s.at(19000)})
		s.h.AddEvent(Event{Kind: EvReady, Node: "n1", T: s.at(19100)})
		takeover := 2500
		if slow {
			takeover = 6000
		}
		s.owners([]string{"n2", "n3"}, 0, 30000, func(n string, ms int) string {
			if ms < takeover {
				return "n1"
			}
			return "n2"
		})
		// The new owner marks it unhealthy 1.5s after the slow takeover
		// and removes it 3s after.
		s.polls([]string{"n2", "n3"}, 0, 30000, func(n string, ms int) map[string]bool {
			switch {
			case ms < 200:
				return map[string]bool{}
			case ms < 7500:
				return map[string]bool{inst.Addr(): true}
			case ms < 9000:
				return map[string]bool{inst.Addr(): false}
			}
			return map[string]bool{}
		})
		res := Check(s.h, DefaultBounds())
		if slow && (len(res.Violations) != 0 || res.SlowestTakeover < 4*time.Second) {
			t.Errorf("slow takeover: got %v, slowest takeover %v; want no violation and about 4.5s", res.Violations, res.SlowestTakeover)
		}
		if !slow && (len(res.Violations) == 0 || !strings.HasPrefix(res.Violations[0].Invariant, "expiry")) {
			t.Errorf("prompt takeover: got %v, want an expiry violation", res.Violations)
		}
	}
}
