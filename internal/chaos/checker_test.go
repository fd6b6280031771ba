package chaos

import (
	"strings"
	"testing"
	"time"
)

// synth builds synthetic histories for the checker: no processes.
type synth struct {
	h  *History
	t0 time.Time
}

func newSynth() *synth { return &synth{h: NewHistory(), t0: time.Unix(1000, 0)} }

func (s *synth) at(ms int) time.Time { return s.t0.Add(time.Duration(ms) * time.Millisecond) }

var inst = Instance{Service: "svc", IP: "10.0.0.1", Port: 80}

// beats records a register at from and acknowledged beats every 500 ms
// until to, each taking 5 ms.
func (s *synth) beats(in Instance, from, to int) {
	s.h.AddOp(Op{Kind: OpRegister, Inst: in, Node: "n1", Start: s.at(from), End: s.at(from + 5), OK: true})
	for t := from + 500; t <= to; t += 500 {
		s.h.AddOp(Op{Kind: OpBeat, Inst: in, Node: "n1", Start: s.at(t), End: s.at(t + 5), OK: true})
	}
}

// polls records a poll of svc on every node every 100 ms in [from, to);
// list says what node lists at time t.
func (s *synth) polls(nodes []string, from, to int, list func(node string, t int) map[string]bool) {
	round := 0
	for t := from; t < to; t += 100 {
		round++
		for _, n := range nodes {
			s.h.AddObs(Obs{Round: round, Node: n, Service: "svc", Start: s.at(t), End: s.at(t + 3), Status: 200, List: list(n, t)})
		}
	}
}

func (s *synth) owners(nodes []string, from, to int, owner func(node string, t int) string) {
	round := 0
	for t := from; t < to; t += 300 {
		round++
		for _, n := range nodes {
			s.h.AddOwner(OwnerObs{Round: round, Node: n, Service: "svc", Owner: owner(n, t), Start: s.at(t), End: s.at(t + 2)})
		}
	}
}

func healthy(t, from int) map[string]bool {
	if t >= from {
		return map[string]bool{inst.Addr(): true}
	}
	return map[string]bool{}
}

var three = []string{"n1", "n2", "n3"}

func TestCheck_histories(t *testing.T) {
	tests := []struct {
		name  string
		build func(s *synth)
		want  string // invariant of the first violation; "" = pass
	}{
		{"beating instance visible everywhere passes", func(s *synth) {
			s.beats(inst, 0, 20000)
			s.polls(three, 0, 20000, func(n string, t int) map[string]bool { return healthy(t, 200) })
		}, ""},
		{"write not visible within 1s fails", func(s *synth) {
			s.beats(inst, 0, 20000)
			s.polls(three, 0, 20000, func(n string, t int) map[string]bool {
				if n == "n3" {
					return healthy(t, 1500)
				}
				return healthy(t, 100)
			})
		}, "convergence"},
		{"beating instance unhealthy on one node fails", func(s *synth) {
			s.beats(inst, 0, 20000)
			s.polls(three, 0, 20000, func(n string, t int) map[string]bool {
				if n == "n2" && t >= 8000 && t < 8300 {
					return map[string]bool{inst.Addr(): false}
				}
				return healthy(t, 100)
			})
		}, "liveness"},
		{"beating instance missing on a restarted node after ready fails", func(s *synth) {
			s.beats(inst, 0, 20000)
			s.h.AddEvent(Event{Kind: EvKill, Node: "n2", T: s.at(5000)})
			s.h.AddEvent(Event{Kind: EvStart, Node: "n2", T: s.at(6000)})
			s.h.AddEvent(Event{Kind: EvReady, Node: "n2", T: s.at(7000)})
			s.polls(three, 0, 20000, func(n string, t int) map[string]bool {
				if n == "n2" && t >= 5000 && t < 9000 {
					return map[string]bool{}
				}
				return healthy(t, 100)
			})
		}, "liveness"},
		{"answers of a node while down and syncing do not count", func(s *synth) {
			s.beats(inst, 0, 20000)
			s.h.AddEvent(Event{Kind: EvKill, Node: "n2", T: s.at(5000)})
			s.h.AddEvent(Event{Kind: EvStart, Node: "n2", T: s.at(6000)})
			s.h.AddEvent(Event{Kind: EvReady, Node: "n2", T: s.at(7000)})
			s.polls(three, 0, 20000, func(n string, t int) map[string]bool {
				if n == "n2" && t >= 5000 && t < 6990 {
					return map[string]bool{}
				}
				return healthy(t, 100)
			})
		}, ""},
		{"silent instance removed in time passes", func(s *synth) {
			s.beats(inst, 0, 5000)
			s.h.AddOp(Op{Kind: OpSilent, Inst: inst, Start: s.at(5100), End: s.at(5100)})
			s.polls(three, 0, 20000, func(n string, t int) map[string]bool {
				switch {
				case t < 100:
					return map[string]bool{}
				case t < 6700:
					return healthy(t, 0)
				case t < 8200:
					return map[string]bool{inst.Addr(): false}
				}
				return map[string]bool{}
			})
		}, ""},
		{"silent instance healthy past timeout+1s fails", func(s *synth) {
			s.beats(inst, 0, 5000)
			s.h.AddOp(Op{Kind: OpSilent, Inst: inst, Start: s.at(5100), End: s.at(5100)})
			s.polls(three, 0, 20000, func(n string, t int) map[string]bool {
				if t < 7700 { // deadline 5005+1500+1000
					return healthy(t, 100)
				}
				return map[string]bool{}
			})
		}, "expiry(unhealthy)"},
		{"silent instance listed past delete timeout+1s fails", func(s *synth) {
			s.beats(inst, 0, 5000)
			s.h.AddOp(Op{Kind: OpSilent, Inst: inst, Start: s.at(5100), End: s.at(5100)})
			s.polls(three, 0, 20000, func(n string, t int) map[string]bool {
				switch {
				case t < 6700:
					return healthy(t, 100)
				case t < 9500 || n != "n3":
					return map[string]bool{inst.Addr(): false}
				}
				return map[string]bool{}
			})
		}, "expiry(removed)"},
		{"owner death adds failure detection to expiry", func(s *synth) {
			s.beats(inst, 0, 5000)
			s.h.AddOp(Op{Kind: OpSilent, Inst: inst, Start: s.at(5100), End: s.at(5100)})
			s.owners([]string{"n2", "n3"}, 0, 20000, func(n string, t int) string {
				if t < 6000 {
					return "n1"
				}
				return "n2"
			})
			s.h.AddEvent(Event{Kind: EvKill, Node: "n1", T: s.at(6000)})
			// Takeover by 9000; unhealthy by 10500, removed by 12000.
			s.polls([]string{"n2", "n3"}, 0, 20000, func(n string, t int) map[string]bool {
				switch {
				case t < 10400:
					return healthy(t, 100)
				case t < 11900:
					return map[string]bool{inst.Addr(): false}
				}
				return map[string]bool{}
			})
		}, ""},
		{"deregistered instance still listed fails", func(s *synth) {
			s.beats(inst, 0, 5000)
			s.h.AddOp(Op{Kind: OpDeregister, Inst: inst, Node: "n1", Start: s.at(5200), End: s.at(5210), OK: true})
			s.polls(three, 0, 20000, func(n string, t int) map[string]bool {
				if n == "n1" && t > 12000 { // resurrected
					return healthy(t, 0)
				}
				return healthy(t, 100)
			})
		}, "convergence(deregister)"},
		{"owners disagreeing while membership is stable fails", func(s *synth) {
			s.beats(inst, 0, 20000)
			s.polls(three, 0, 20000, func(n string, t int) map[string]bool { return healthy(t, 100) })
			s.owners(three, 0, 20000, func(n string, t int) string {
				if n == "n3" && t > 10000 {
					return "n3"
				}
				return "n1"
			})
		}, "one-owner"},
		{"owners disagreeing right after a kill passes", func(s *synth) {
			s.beats(inst, 0, 20000)
			s.polls([]string{"n2", "n3"}, 0, 20000, func(n string, t int) map[string]bool { return healthy(t, 100) })
			s.h.AddEvent(Event{Kind: EvKill, Node: "n1", T: s.at(10000)})
			s.owners([]string{"n2", "n3"}, 0, 20000, func(n string, t int) string {
				switch {
				case t < 10000:
					return "n1"
				case n == "n3" && t < 12000:
					return "n1"
				}
				return "n2"
			})
		}, ""},
		{"nodes differing after settling fails", func(s *synth) {
			other := Instance{Service: "svc", IP: "10.0.0.2", Port: 80}
			s.beats(inst, 0, 20000)
			s.polls(three, 0, 20000, func(n string, t int) map[string]bool {
				m := healthy(t, 100)
				if n == "n2" {
					m[other.Addr()] = true // a ghost no client registered
				}
				return m
			})
		}, "repair"},
		{"a partition suspends liveness until healed", func(s *synth) {
			s.beats(inst, 0, 25000)
			s.h.AddEvent(Event{Kind: EvPartition, T: s.at(5000)})
			s.h.AddEvent(Event{Kind: EvHeal, T: s.at(11000)})
			s.polls(three, 0, 25000, func(n string, t int) map[string]bool {
				if n == "n1" && t > 7000 && t < 12000 {
					return map[string]bool{inst.Addr(): false}
				}
				return healthy(t, 100)
			})
		}, ""},
		{"beating instance lost after a partition heals fails", func(s *synth) {
			s.beats(inst, 0, 30000)
			s.h.AddEvent(Event{Kind: EvPartition, T: s.at(5000)})
			s.h.AddEvent(Event{Kind: EvHeal, T: s.at(11000)})
			s.polls(three, 0, 30000, func(n string, t int) map[string]bool {
				if n == "n1" && t > 7000 {
					return map[string]bool{}
				}
				return healthy(t, 100)
			})
		}, "liveness"},
		{"a node failing every poll fails", func(s *synth) {
			s.beats(inst, 0, 20000)
			s.polls([]string{"n1", "n2"}, 0, 20000, func(n string, t int) map[string]bool { return healthy(t, 100) })
			for t := 0; t < 20000; t += 100 {
				if t < 8000 || t >= 11000 {
					s.h.AddObs(Obs{Node: "n3", Service: "svc", Start: s.at(t), End: s.at(t + 3), Status: 200, List: healthy(t, 100)})
					continue
				}
				s.h.AddObs(Obs{Node: "n3", Service: "svc", Start: s.at(t + 50), End: s.at(t + 60), Status: 0})
			}
		}, "availability"},
		{"a finding fails", func(s *synth) {
			s.beats(inst, 0, 20000)
			s.polls(three, 0, 20000, func(n string, t int) map[string]bool { return healthy(t, 100) })
			s.h.AddFinding(Finding{T: s.at(3000), Node: "n2", What: "bad input answered 5xx"})
		}, "bad-input/availability"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSynth()
			tt.build(s)
			res := Check(s.h, DefaultBounds())
			got := ""
			if len(res.Violations) > 0 {
				got = res.Violations[0].Invariant
			}
			if got != tt.want {
				var msgs []string
				for _, v := range res.Violations {
					msgs = append(msgs, v.String())
				}
				t.Fatalf("got %q, want %q\n%s", got, tt.want, strings.Join(msgs, "\n"))
			}
			if res.Checked == 0 {
				t.Fatalf("got 0 checked polls, want some")
			}
		})
	}
}

func TestCheck_excerptShowsHistory(t *testing.T) {
	s := newSynth()
	s.beats(inst, 0, 20000)
	s.polls(three, 0, 20000, func(n string, t int) map[string]bool {
		if n == "n2" && t == 8000 {
			return map[string]bool{}
		}
		return healthy(t, 100)
	})
	res := Check(s.h, DefaultBounds())
	// The gap is a liveness violation, and (no faults, so the settle time
	// has passed) a repair one.
	if len(res.Violations) != 2 || res.Violations[0].Invariant != "liveness" {
		t.Fatalf("got %v, want liveness then repair", res.Violations)
	}
	out := res.Violations[0].String()
	for _, want := range []string{"liveness", "n2", "poll n2: absent", "client beat via n1 -> ok"} {
		if !strings.Contains(out, want) {
			t.Errorf("got excerpt without %q:\n%s", want, out)
		}
	}
}

// TestCheck_newNodeNotCountedLate checks that a node which first answers
// long after a write (it was started later) does not count as slow to
// learn it.
func TestCheck_newNodeNotCountedLate(t *testing.T) {
	s := newSynth()
	s.beats(inst, 0, 10000)
	s.polls([]string{"n1", "n2"}, 0, 10000, func(n string, t int) map[string]bool { return healthy(t, 100) })
	s.polls([]string{"n4"}, 5000, 10000, func(n string, t int) map[string]bool { return healthy(t, 0) })
	res := Check(s.h, DefaultBounds())
	if len(res.Violations) != 0 {
		t.Fatalf("got violations %v, want none", res.Violations)
	}
	if res.WorstConvergence > time.Second {
		t.Fatalf("worst convergence %v counts the node that started at 5 s", res.WorstConvergence)
	}
}
