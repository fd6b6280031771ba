package chaos

import (
	"strings"
	"testing"
)

// shedBeats records a register at 0, beats every 500 ms until to, each
// answered 200 except those in [shedFrom, shedTo), answered as fail says:
// "429" (shed) or "err" (no answer).
func (s *synth) shedBeats(in Instance, to, shedFrom, shedTo int, fail string, registered bool) {
	if registered {
		s.h.AddOp(Op{Kind: OpRegister, Inst: in, Node: "n1", Start: s.at(0), End: s.at(5), OK: true})
	}
	for t := 500; t <= to; t += 500 {
		o := Op{Kind: OpBeat, Inst: in, Node: "n1", Start: s.at(t), End: s.at(t + 5), OK: true}
		if t >= shedFrom && t < shedTo || !registered {
			o.OK = false
			o.Shed = fail == "429"
			o.Detail = "429 too busy"
			if fail != "429" {
				o.Detail = "connection refused"
			}
		}
		s.h.AddOp(o)
	}
}

// TestCheck_shedBeatsAreTried: with Bounds.ShedIsTrying (the overload
// scenario), an instance whose beats the nodes shed with 429 for longer
// than its beat timeout kept trying, so listing it unhealthy then is a
// false expiry; without it, or when the beats got no answer at all, or
// for an instance never acknowledged, the gap is not held to liveness.
func TestCheck_shedBeatsAreTried(t *testing.T) {
	tests := []struct {
		name       string
		tried      bool   // Bounds.ShedIsTrying
		fail       string // how the beats from 5.5 s to 10 s failed
		registered bool
		unhealthy  bool // n2 lists it unhealthy from 8 s to 9 s
		want       string
	}{
		{"shed beats, listed unhealthy: false expiry", true, "429", true, true, "liveness"},
		{"shed beats, listed healthy: passes", true, "429", true, false, ""},
		{"shed beats not counted as tried: passes", false, "429", true, true, ""},
		{"beats unanswered, not shed: passes", true, "err", true, true, ""},
		{"never acknowledged, every beat shed: passes", true, "429", false, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSynth()
			s.owners(three, 0, 20000, func(string, int) string { return "n2" })
			s.shedBeats(inst, 20000, 5500, 10000, tt.fail, tt.registered)
			s.polls(three, 0, 20000, func(n string, ms int) map[string]bool {
				if tt.unhealthy && n == "n2" && ms >= 8000 && ms < 9000 {
					return map[string]bool{inst.Addr(): false}
				}
				if !tt.registered {
					return map[string]bool{}
				}
				return healthy(ms, 100)
			})
			b := DefaultBounds()
			b.ShedIsTrying = tt.tried
			// n2 differs from the others after the writes settled,
			// which the repair check holds apart; liveness is what
			// this test is about.
			vs := only(Check(s.h, b).Violations, "liveness")
			got := ""
			if len(vs) > 0 {
				got = vs[0].Invariant
			}
			if got != tt.want {
				t.Fatalf("first liveness violation %q, want %q (all: %v)", got, tt.want, vs)
			}
			if got != "" && !strings.Contains(vs[0].Detail, "shed with 429") {
				t.Errorf("detail %q does not say the beats were shed", vs[0].Detail)
			}
		})
	}
}

// TestCheck_flood: the flood's seconds are held to answering at most
// FloodSlowShare slowly or not at all per node; a second of a node being
// killed and restarted, or with too few requests to judge, is not; and
// the result sums the flood up.
func TestCheck_flood(t *testing.T) {
	tests := []struct {
		name       string
		slow, errs int // of n2's 100 requests in the second from 3 s
		sent       int
		killed     bool    // n2 SIGKILLed at 2.5 s, ready at 6 s
		others     float64 // cores other work used from 3.5 s to 4.5 s
		want       string
	}{
		{"prompt answers, many shed: passes", 0, 0, 100, false, 0.2, ""},
		{"a few slow: passes", 3, 2, 100, false, 0.2, ""},
		{"timeouts piling up: fails", 20, 10, 100, false, 0.2, "overload"},
		{"unanswered while killed: passes", 0, 60, 100, true, 0.2, ""},
		{"too few to judge: passes", 5, 5, 10, false, 0.2, ""},
		{"slow while other work took the machine: passes", 20, 10, 100, false, 1.5, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSynth()
			s.h.SetFloodPlan(FloodPlan{Capacity: 1000, Offered: 2000, OfferFrom: s.at(0), OfferTo: s.at(10000)})
			for sec := 0; sec < 10; sec++ {
				for _, n := range three {
					fs := FloodSecond{T: s.at(sec * 1000), Node: n, Phase: FloodOffer, Sent: 600, OK: 300, Shed: 300}
					if n == "n2" && sec == 3 {
						fs = FloodSecond{T: s.at(3000), Node: n, Phase: FloodOffer, Sent: tt.sent, Errs: tt.errs, Slow: tt.slow,
							OK: tt.sent / 2, Shed: tt.sent/2 - tt.errs, MaxLatency: 2500e6}
					}
					s.h.AddFlood(fs)
				}
			}
			s.h.AddFlood(FloodSecond{T: s.at(3000), Node: "n1", Phase: FloodProbe, Sent: 100, Errs: 100}) // the probe is not judged
			for sec := 0; sec < 10; sec++ {
				m := MachineSample{Since: s.at(sec*1000 + 500), T: s.at(sec*1000 + 1500), Others: 0.2}
				if sec == 3 {
					m.Others = tt.others
				}
				s.h.AddMachine(m)
			}
			if tt.killed {
				s.h.AddEvent(Event{Kind: EvKill, Node: "n2", T: s.at(2500)})
				s.h.AddEvent(Event{Kind: EvReady, Node: "n2", T: s.at(6000)})
			}
			// No instances, so no polls to check repair by: the flood
			// alone is what this test is about.
			res := Check(s.h, DefaultBounds())
			vs := only(res.Violations, "overload")
			got := ""
			if len(vs) > 0 {
				got = vs[0].Invariant
			}
			if got != tt.want {
				t.Fatalf("first violation %q, want %q (all: %v)", got, tt.want, res.Violations)
			}
			f := res.Flood
			if !f.Ran || f.Shed < 8000 || f.SentRate < 1700 || f.Capacity != 1000 {
				t.Errorf("flood result %+v: want it ran, 8,000 or more shed, ~1,800 sent per second, capacity 1000", f)
			}
			if note := floodNote(f); !strings.Contains(note, "shed 429") {
				t.Errorf("note %q does not count the 429s", note)
			}
			// The seconds from 1 s to 4 s wait for answers into the busy one, on each node.
			if busy := map[bool]int{true: 12, false: 0}[tt.others > FloodOthersMax]; f.Busy != busy || f.MaxOthers != max(tt.others, 0.2) {
				t.Errorf("%d node-seconds not held for other work (at most %.1f cores), want %d (%.1f)", f.Busy, f.MaxOthers, busy, max(tt.others, 0.2))
			}
		})
	}
}

// only returns the violations of invariant inv.
func only(vs []Violation, inv string) []Violation {
	var out []Violation
	for _, v := range vs {
		if v.Invariant == inv {
			out = append(out, v)
		}
	}
	return out
}
