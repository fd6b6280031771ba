package chaos

import "testing"

// TestCheck_acl: refused attempts pass; one answered 2xx or after which
// the guard's index moved is an unauthorised change; one without an
// answer proves nothing.
func TestCheck_acl(t *testing.T) {
	for _, c := range []struct {
		name            string
		attempts        []ACLAttempt
		refused, change int
	}{
		{"refused", []ACLAttempt{{Code: 401, IndexBefore: 9, IndexAfter: 9}, {Code: 403, IndexBefore: 9, IndexAfter: 9}, {Code: 405}}, 3, 0},
		{"accepted", []ACLAttempt{{Code: 200, IndexBefore: 9, IndexAfter: 9}}, 0, 1},
		{"refused but changed", []ACLAttempt{{Code: 403, IndexBefore: 9, IndexAfter: 10}}, 1, 1},
		{"no answer", []ACLAttempt{{Code: 0, IndexBefore: 9, IndexAfter: 0}}, 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newSynth()
			s.beats(inst, 0, 20000)
			s.polls(three, 0, 20000, func(n string, t int) map[string]bool { return healthy(t, 100) })
			for i, a := range c.attempts {
				a.T, a.Door, a.Token = s.at(1000+i*100), "nacos register", "forged"
				s.h.AddACL(a)
			}
			res := Check(s.h, DefaultBounds())
			r := res.Intruders
			if r.ACLAttempts != len(c.attempts) || r.ACLRefused != c.refused || r.ACLChanges != c.change {
				t.Fatalf("got %d attempts, %d refused, %d changes; want %d, %d, %d", r.ACLAttempts, r.ACLRefused, r.ACLChanges, len(c.attempts), c.refused, c.change)
			}
			acl := 0
			for _, v := range res.Violations {
				if v.Invariant == "acl" {
					acl++
				}
			}
			if acl != c.change {
				t.Fatalf("got %d acl violations, want %d: %v", acl, c.change, res.Violations)
			}
		})
	}
}
