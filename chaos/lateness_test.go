package chaos

import (
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
