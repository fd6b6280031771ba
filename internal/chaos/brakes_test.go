package chaos

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// TestCheck_expiryBrake: a silent instance expired late because its
// service's owner held its expiry brake (and then gave it a fresh timeout)
// passes, and counts as moved; the same lateness with the hold on a node
// that does not own the service, or with no hold, is a violation; and a
// hold excuses nothing for a beating instance listed unhealthy.
func TestCheck_expiryBrake(t *testing.T) {
	tests := []struct {
		name      string
		holdOn    string // "" = no hold
		beating   bool   // the instance beats on and is listed unhealthy during the hold
		want      string // invariant of the first violation; "" = pass
		wantMoved int
	}{
		{"hold on the owner: late expiry passes", "n2", false, "", 1},
		{"hold on another node: late expiry fails", "n3", false, "expiry(unhealthy)", 0},
		{"no hold: late expiry fails", "", false, "expiry(unhealthy)", 0},
		{"hold on the owner: a beating instance unhealthy fails", "n2", true, "liveness", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSynth()
			s.owners(three, 0, 20000, func(string, int) string { return "n2" })
			if tt.holdOn != "" {
				s.h.AddEvent(Event{Kind: EvBrake, Node: tt.holdOn, Since: s.at(5500), T: s.at(8000)})
			}
			if tt.beating {
				s.beats(inst, 0, 20000)
				s.polls(three, 0, 20000, func(n string, ms int) map[string]bool {
					if ms >= 6000 && ms < 7000 {
						return map[string]bool{inst.Addr(): false}
					}
					return healthy(ms, 100)
				})
			} else {
				// Last beat 5.005s; the owner's brake holds from 5.5s to
				// 8s, and the fresh timeout from the release makes it
				// unhealthy at 9.5s (bound without the hold: 7.505s) and
				// gone at 11s (bound 9.005s).
				s.beats(inst, 0, 5000)
				s.h.AddOp(Op{Kind: OpSilent, Inst: inst, Start: s.at(5100), End: s.at(5100)})
				s.polls(three, 0, 20000, func(n string, ms int) map[string]bool {
					switch {
					case ms < 9600:
						return healthy(ms, 100)
					case ms < 11100:
						return map[string]bool{inst.Addr(): false}
					}
					return map[string]bool{}
				})
			}
			res := Check(s.h, DefaultBounds())
			got := ""
			if len(res.Violations) > 0 {
				got = res.Violations[0].Invariant
			}
			if got != tt.want {
				t.Fatalf("first violation %q, want %q (all: %v)", got, tt.want, res.Violations)
			}
			if res.BrakeMoved != tt.wantMoved {
				t.Errorf("%d instances moved by the brake, want %d", res.BrakeMoved, tt.wantMoved)
			}
			if wantHolds := map[bool]int{true: 1, false: 0}[tt.holdOn != ""]; res.BrakeHolds != wantHolds {
				t.Errorf("%d holds counted, want %d", res.BrakeHolds, wantHolds)
			}
		})
	}
}

// TestReadBrake: the brake is read from a node's metrics text, and a
// node without the brake's metrics is an error, not "off".
func TestReadBrake(t *testing.T) {
	var body atomic.Pointer[string]
	full := "# HELP roster_expiry_brake x\n# TYPE roster_expiry_brake gauge\nroster_expiry_brake 1\n" +
		"roster_expiry_brake_engaged_total 3\nroster_expiry_brake_held_seconds_total 4.5\ngo_goroutines 12\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" {
			fmt.Fprint(w, *body.Load())
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	body.Store(&full)
	r, err := readBrake(context.Background(), srv.Client(), srv.URL)
	if err != nil || !r.on || r.engaged != 3 {
		t.Fatalf("got %+v, %v; want on, 3 engagements", r, err)
	}
	other := "go_goroutines 12\n"
	body.Store(&other)
	if r, err := readBrake(context.Background(), srv.Client(), srv.URL); err == nil {
		t.Fatalf("metrics without the brake read as %+v, want an error", r)
	}
}

// TestCheck_expiryBrakeAtTheEnd: a hold late in the run moves a silent
// instance's removal past the end of the history; the repair check still
// runs, from the settle time the instance had without the hold, and does
// not count nodes that differ on that instance alone while it is inside
// its moved deadline.
func TestCheck_expiryBrakeAtTheEnd(t *testing.T) {
	s := newSynth()
	s.owners(three, 0, 20000, func(string, int) string { return "n2" })
	other := Instance{Service: "svc", IP: "10.0.0.2", Port: 80}
	s.beats(other, 0, 20000)
	s.beats(inst, 0, 5000)
	s.h.AddOp(Op{Kind: OpSilent, Inst: inst, Start: s.at(5100), End: s.at(5100)})
	// Held from 5.5s to 16s: unhealthy by 18.5s, removed by 20s (the
	// history ends at 20s); n3 drops it first.
	s.h.AddEvent(Event{Kind: EvBrake, Node: "n2", Since: s.at(5500), T: s.at(16000)})
	s.polls(three, 0, 20000, func(n string, ms int) map[string]bool {
		m := map[string]bool{other.Addr(): ms >= 100}
		switch {
		case ms < 100:
			return map[string]bool{}
		case ms < 17600:
			m[inst.Addr()] = true
		case ms < 19000 || n != "n3":
			m[inst.Addr()] = false
		}
		return m
	})
	s.h.SetEnd(s.at(20000))
	res := Check(s.h, DefaultBounds())
	for _, v := range res.Violations {
		t.Errorf("got violation %s", v)
	}
	if res.BrakeMoved != 1 {
		t.Errorf("%d instances moved, want 1", res.BrakeMoved)
	}
}
