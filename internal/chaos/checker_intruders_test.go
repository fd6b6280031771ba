package chaos

import (
	"strings"
	"testing"
)

// The intruders' checks on fabricated histories: each passes what the
// hardened nodes do and fails what the defects they fixed did.

// rss records a reading of node's process pid every 500 ms in [from, to)
// whose KiB grows by step from start.
func (s *synth) rss(node string, pid, from, to int, start, step int64) {
	kib := start
	for t := from; t < to; t += 500 {
		s.h.AddRSS(RSSSample{T: s.at(t), Node: node, PID: pid, KiB: kib})
		kib += step
	}
}

func (s *synth) forged(t int, kind ForgedKind, code int, before, after float64, restarted bool) Instance {
	in := Instance{Service: ForgedService, IP: "10.66.1.1", Port: 7000 + t%1000}
	s.h.AddForged(ForgedOp{Start: s.at(t), End: s.at(t + 3), Node: "n2", As: "n1", Kind: kind, Inst: in, Code: code,
		Body: "x", FutureBefore: before, FutureAfter: after, Restarted: restarted})
	return in
}

func (s *synth) outsiderReady(from, to int, status func(t int) int) {
	for t := from; t < to; t += 500 {
		s.h.AddOutsider(OutsiderObs{T: s.at(t), Node: OutsiderName, Readyz: true, Status: status(t)})
	}
}

const mb = 1024 // in KiB

var intruderCases = []struct {
	name  string
	build func(s *synth)
	want  string // invariant of the first violation; "" = pass
}{
	{"memory within the bound passes", func(s *synth) {
		s.rss("n1", 100, 0, 20000, 30*mb, 1*mb/2) // +20 MiB
		s.rss("n2", 200, 0, 20000, 30*mb, 0)
	}, ""},
	{"memory growing past the bound fails", func(s *synth) {
		s.rss("n1", 100, 0, 20000, 30*mb, 1*mb/2)
		s.rss("n2", 200, 0, 20000, 30*mb, 5*mb) // +195 MiB: a cache keyed by the filter as spelled
	}, "memory"},
	{"a restart starts the memory count afresh", func(s *synth) {
		s.rss("n1", 100, 0, 10000, 30*mb, 2*mb) // +38 MiB, then killed
		s.rss("n1", 101, 10000, 20000, 20*mb, 2*mb)
	}, ""},
	{"growth before a restarted node is ready is not counted", func(s *synth) {
		s.rss("n1", 100, 0, 10000, 30*mb, 0)
		s.h.AddEvent(Event{Kind: EvKill, Node: "n1", T: s.at(10000)})
		s.h.AddEvent(Event{Kind: EvStart, Node: "n1", T: s.at(10500)})
		s.h.AddEvent(Event{Kind: EvReady, Node: "n1", T: s.at(13000)})
		s.rss("n1", 101, 11000, 13000, 20*mb, 20*mb) // syncing: +60 MiB
		s.rss("n1", 101, 13000, 20000, 100*mb, mb)   // then +13 MiB
	}, ""},
	{"growth after a restarted node is ready counts", func(s *synth) {
		s.h.AddEvent(Event{Kind: EvKill, Node: "n1", T: s.at(10000)})
		s.h.AddEvent(Event{Kind: EvStart, Node: "n1", T: s.at(10500)})
		s.h.AddEvent(Event{Kind: EvReady, Node: "n1", T: s.at(11000)})
		s.rss("n1", 101, 11000, 20000, 20*mb, 5*mb)
	}, "memory"},
	{"forged records refused and the future one counted pass", func(s *synth) {
		s.forged(1000, ForgedTiming, 400, 0, 0, false)
		s.forged(2000, ForgedName, 400, 0, 0, false)
		s.forged(3000, ForgedFuture, 200, 2, 3, false)
		s.forged(4000, ForgedFuture, 403, 3, 3, false)
		s.forged(5000, ForgedTiming, 0, -1, -1, false) // the node was being killed
		s.h.AddForgedPoll(ForgedPoll{T: s.at(5100), Node: "n1", Status: 200})
	}, ""},
	{"a forged record with a MaxInt64 beat timeout accepted fails", func(s *synth) {
		s.forged(1000, ForgedTiming, 200, 0, 0, false)
	}, "forged-peer"},
	{"a forged record with an invalid name answered 5xx fails", func(s *synth) {
		s.forged(1000, ForgedName, 500, 0, 0, false)
	}, "forged-peer"},
	{"a future record accepted and not counted fails", func(s *synth) {
		s.forged(1000, ForgedFuture, 200, 0, 0, false)
	}, "forged-peer"},
	{"a future record's count across a restart is not held", func(s *synth) {
		s.forged(1000, ForgedFuture, 200, 4, 0, true)
	}, ""},
	{"a node listing a forged record fails", func(s *synth) {
		in := s.forged(1000, ForgedFuture, 200, 0, 1, false)
		s.h.AddForgedPoll(ForgedPoll{T: s.at(1100), Node: "n3", Status: 200, Listed: []string{in.Addr()}})
	}, "forged-peer"},
	{"an outsider never ready and never a member passes", func(s *synth) {
		s.outsiderReady(0, 20000, func(int) int { return 503 })
		s.h.AddOutsider(OutsiderObs{T: s.at(3000), Node: "n1", Status: 200, Members: three})
	}, ""},
	{"an outsider turning ready fails", func(s *synth) {
		s.outsiderReady(0, 20000, func(t int) int {
			if t >= 6000 { // a cluster of its own after the seeds refused it
				return 200
			}
			return 503
		})
	}, "refused-join"},
	{"an outsider listed as a member fails", func(s *synth) {
		s.outsiderReady(0, 20000, func(int) int { return 503 })
		s.h.AddOutsider(OutsiderObs{T: s.at(3000), Node: "n2", Status: 200, Members: append([]string{OutsiderName}, three...)})
	}, "refused-join"},
	{"an outsider exiting on its own fails", func(s *synth) {
		s.outsiderReady(0, 5000, func(int) int { return 503 })
		s.h.AddOutsider(OutsiderObs{T: s.at(5000), Node: OutsiderName, Readyz: true, Status: OutsiderExited})
	}, "refused-join"},
}

func TestCheck_intruders(t *testing.T) {
	for _, tt := range intruderCases {
		t.Run(tt.name, func(t *testing.T) {
			s := newSynth()
			s.beats(inst, 0, 20000)
			s.polls(three, 0, 20000, func(n string, t int) map[string]bool { return healthy(t, 100) })
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
		})
	}
}

// TestCheck_intruderCounts checks the figures the summary's note shows.
func TestCheck_intruderCounts(t *testing.T) {
	s := newSynth()
	s.beats(inst, 0, 20000)
	s.polls(three, 0, 20000, func(n string, t int) map[string]bool { return healthy(t, 100) })
	s.rss("n1", 100, 0, 10000, 30<<10, 1<<10) // +19 MiB
	s.rss("n2", 200, 0, 10000, 30<<10, 0)
	s.forged(1000, ForgedTiming, 400, 0, 0, false)
	s.forged(2000, ForgedFuture, 200, 0, 1, false)
	s.forged(3000, ForgedName, 0, -1, -1, false)
	s.outsiderReady(0, 2000, func(int) int { return 503 })
	s.h.AddOutsider(OutsiderObs{T: s.at(3000), Node: "n1", Status: 200, Members: three})
	r := Check(s.h, DefaultBounds())
	got := r.Intruders
	want := IntruderResult{RSSProcs: 2, WorstRSSGrowth: 19 << 20, WorstRSSNode: "n1", Forged: 3, ForgedRefused: 1,
		FutureCounted: 1, ForgedUnanswered: 1, OutsiderProbes: 4, MemberPolls: 1}
	if got != want || len(r.Violations) != 0 {
		t.Fatalf("got %+v and %d violations, want %+v and none", got, len(r.Violations), want)
	}
	note := intruderNote(Summary{Intruders: IntruderCounts{Ran: true, Reads: 40, Subscribing: 10}, Result: r})
	for _, w := range []string{"40 amplifying reads (10 subscribing)", "worst RSS growth 19.0 MiB (n1)", "3 forged deltas: 1 refused 4xx, 1 future counted, 1 unanswered", "4 readiness probes"} {
		if !strings.Contains(note, w) {
			t.Errorf("note %q lacks %q", note, w)
		}
	}
}
