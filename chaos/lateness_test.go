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
