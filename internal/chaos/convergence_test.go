package chaos

import "testing"

// TestCheck_writerKilledAtOnce checks the convergence allowance of a write
// whose node is SIGKILLed right after acknowledging it: it reached one
// peer, and anti-entropy spreads it from there, so the other nodes have
// Bounds.Repair to list it, not Bounds.Convergence; without the kill the
// same history breaks convergence.
func TestCheck_writerKilledAtOnce(t *testing.T) {
	build := func(kill bool) *synth {
		s := newSynth()
		s.beats(inst, 0, 20000) // registered through n1 at 0-5 ms
		if kill {
			s.h.AddEvent(Event{Kind: EvKill, Node: "n1", T: s.at(10)})
		}
		s.polls([]string{"n2", "n3"}, 0, 20000, func(n string, t int) map[string]bool {
			if n == "n3" {
				return healthy(t, 2500) // anti-entropy brought it at 2.5 s
			}
			return healthy(t, 100)
		})
		return s
	}
	if res := Check(build(true).h, DefaultBounds()); len(res.Violations) != 0 {
		t.Errorf("writer killed at once: got %v, want no violation", res.Violations[0])
	}
	res := Check(build(false).h, DefaultBounds())
	if len(res.Violations) == 0 || res.Violations[0].Invariant != "convergence" {
		t.Errorf("writer alive: got %v, want a convergence violation", res.Violations)
	}
}

// TestCheck_deregisterWriterKilledAtOnce is the same allowance for a
// deregistration: acknowledged through n1, which is SIGKILLed at once, it
// is gone from n3 only when anti-entropy brings the tombstone, 2 s later.
// Without the kill the same history breaks convergence(deregister).
func TestCheck_deregisterWriterKilledAtOnce(t *testing.T) {
	build := func(kill bool) *synth {
		s := newSynth()
		s.beats(inst, 0, 5000)
		s.h.AddOp(Op{Kind: OpDeregister, Inst: inst, Node: "n1", Start: s.at(5200), End: s.at(5210), OK: true})
		if kill {
			s.h.AddEvent(Event{Kind: EvKill, Node: "n1", T: s.at(5215)})
		}
		s.polls([]string{"n2", "n3"}, 0, 20000, func(n string, t int) map[string]bool {
			gone := 5300
			if n == "n3" {
				gone = 7200 // anti-entropy brought the tombstone
			}
			if t >= gone {
				return map[string]bool{}
			}
			return healthy(t, 100)
		})
		return s
	}
	if res := Check(build(true).h, DefaultBounds()); len(res.Violations) != 0 {
		t.Errorf("writer killed at once: got %v, want no violation", res.Violations[0])
	}
	res := Check(build(false).h, DefaultBounds())
	if len(res.Violations) == 0 || res.Violations[0].Invariant != "convergence(deregister)" {
		t.Errorf("writer alive: got %v, want a convergence(deregister) violation", res.Violations)
	}
}
