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

// TestAnswerInterval_comesBackGradually: after the node's last overload
// signal, the interval answered comes back to the instance's own over six
// of its intervals, in a straight line.
func TestAnswerInterval_comesBackGradually(t *testing.T) {
	n := alone(t)
	in := store.Instance{BeatInterval: 5 * time.Second, BeatTimeout: 15 * time.Second}
	lag := n.cfg.ExpiryBrakeLag
	cases := []struct {
		ago  time.Duration // the last signal, before now
		want time.Duration
	}{
		{0, 10 * time.Second},
		{lag / 2, 10 * time.Second}, // still overloaded: within the lag
		{lag + 15*time.Second, 7500 * time.Millisecond},
		{lag + 27*time.Second, 5500 * time.Millisecond},
		{lag + 30*time.Second, 5 * time.Second},
		{time.Hour, 5 * time.Second},
	}
	for _, c := range cases {
		n.brake.ownAt.Store(n.cfg.Now().Add(-c.ago).UnixNano())
		got := n.answerInterval(in)
		if d := got - c.want; d < -20*time.Millisecond || d > 20*time.Millisecond {
			t.Errorf("last signal %v ago: answered %v, want %v", c.ago, got, c.want)
		}
	}
}
