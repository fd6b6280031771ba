package node

import (
	"testing"
	"time"

	"github.com/roster-io/roster/store"
)

// TestAnswerInterval_stretchedOnlyWhileOverloaded: an owner answers an
// instance's own interval, and while its own signals show overload up to
// twice it, capped so that a beat that much later still has an interval
// to spare before the timeout.
func TestAnswerInterval_stretchedOnlyWhileOverloaded(t *testing.T) {
	n := alone(t)
	in := func(iv, timeout time.Duration) store.Instance {
		return store.Instance{BeatInterval: iv, BeatTimeout: timeout}
	}
	cases := []struct {
		name       string
		in         store.Instance
		overloaded bool
		want       time.Duration
	}{
		{"idle", in(5*time.Second, 15*time.Second), false, 5 * time.Second},
		{"overloaded, Nacos defaults", in(5*time.Second, 15*time.Second), true, 10 * time.Second},
		{"overloaded, timeout 2.5 intervals", in(4*time.Second, 10*time.Second), true, 6 * time.Second},
		{"overloaded, timeout just over the interval", in(5*time.Second, 6*time.Second), true, 5 * time.Second},
		{"overloaded, long timeout", in(time.Second, time.Minute), true, 2 * time.Second},
	}
	for _, c := range cases {
		n.brake.ownAt.Store(0)
		if c.overloaded {
			n.NoteOverload()
		}
		if got := n.answerInterval(c.in); got != c.want {
			t.Errorf("%s: answered %v, want %v", c.name, got, c.want)
		}
	}
}
