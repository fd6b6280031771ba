package node

import (
	"testing"
	"time"

	"github.com/roster-io/roster/store"
)

// overloadEpisode makes n's own overload signals span [began, ended]
// before now (ended 0: a signal now).
func overloadEpisode(n *Node, began, ended time.Duration) {
	now := n.cfg.Now()
	n.brake.episodeAt.Store(now.Add(-began).UnixNano())
	n.brake.ownAt.Store(now.Add(-ended).UnixNano())
}

// TestAnswerInterval_stretchedOnlyInASustainedOverload: an owner answers
// an instance's own interval, and while its own signals have shown
// overload for two lags up to twice it, capped so that a beat that much
// later still has an interval to spare before the timeout. A blip asks
// nothing of the clients.
func TestAnswerInterval_stretchedOnlyInASustainedOverload(t *testing.T) {
	n := alone(t)
	lag := n.cfg.ExpiryBrakeLag
	in := func(iv, timeout time.Duration) store.Instance {
		return store.Instance{BeatInterval: iv, BeatTimeout: timeout}
	}
	cases := []struct {
		name    string
		in      store.Instance
		lasting time.Duration // how long the signals have lasted (-1: none)
		want    time.Duration
	}{
		{"idle", in(5*time.Second, 15*time.Second), -1, 5 * time.Second},
		{"a blip", in(5*time.Second, 15*time.Second), 0, 5 * time.Second},
		{"overloaded for under two lags", in(5*time.Second, 15*time.Second), 2*lag - time.Millisecond, 5 * time.Second},
		{"sustained, Nacos defaults", in(5*time.Second, 15*time.Second), 2 * lag, 10 * time.Second},
		{"sustained, timeout 2.5 intervals", in(4*time.Second, 10*time.Second), time.Minute, 6 * time.Second},
		{"sustained, timeout just over the interval", in(5*time.Second, 6*time.Second), time.Minute, 5 * time.Second},
		{"sustained, long timeout", in(time.Second, time.Minute), time.Minute, 2 * time.Second},
	}
	for _, c := range cases {
		n.brake.ownAt.Store(0)
		n.brake.episodeAt.Store(0)
		if c.lasting >= 0 {
			overloadEpisode(n, c.lasting, 0)
		}
		if got := n.answerInterval(c.in); got != c.want {
			t.Errorf("%s: answered %v, want %v", c.name, got, c.want)
		}
	}
}

// TestAnswerInterval_comesBackGradually: after a sustained overload the
// interval answered comes back to the instance's own in a straight line,
// over as long as the overload lasted, at most six of its intervals.
func TestAnswerInterval_comesBackGradually(t *testing.T) {
	n := alone(t)
	in := store.Instance{BeatInterval: 5 * time.Second, BeatTimeout: 15 * time.Second}
	lag := n.cfg.ExpiryBrakeLag
	cases := []struct {
		lasted, ago time.Duration // the episode's length; its last signal, before now
		want        time.Duration
	}{
		{time.Minute, 0, 10 * time.Second},
		{time.Minute, lag / 2, 10 * time.Second}, // still overloaded: within the lag
		{time.Minute, lag + 15*time.Second, 7500 * time.Millisecond},
		{time.Minute, lag + 27*time.Second, 5500 * time.Millisecond},
		{time.Minute, lag + 30*time.Second, 5 * time.Second},
		{time.Minute, time.Hour, 5 * time.Second},
		{4 * time.Second, lag + 2*time.Second, 7500 * time.Millisecond}, // a short overload: back within 4 s
		{4 * time.Second, lag + 4*time.Second, 5 * time.Second},
	}
	for _, c := range cases {
		overloadEpisode(n, c.ago+c.lasted, c.ago)
		got := n.answerInterval(in)
		if d := got - c.want; d < -20*time.Millisecond || d > 20*time.Millisecond {
			t.Errorf("overload of %v ended %v ago: answered %v, want %v", c.lasted, c.ago, got, c.want)
		}
	}
}

// TestBrake_episodesBeginAfterALagWithoutSignals: signals closer than a
// lag make one overload episode; a gap of a lag begins another.
func TestBrake_episodesBeginAfterALagWithoutSignals(t *testing.T) {
	var b brake
	lag := time.Second
	ms := func(d int64) int64 { return d * int64(time.Millisecond) }
	for _, at := range []int64{1000, 1500, 2400, 3300} {
		b.own(ms(at), lag)
	}
	if got := b.episodeAt.Load(); got != ms(1000) {
		t.Errorf("episode began at %v ms, want 1000", got/ms(1))
	}
	b.own(ms(4300), lag)
	if got := b.episodeAt.Load(); got != ms(4300) {
		t.Errorf("after a gap of a lag the episode began at %v ms, want 4300", got/ms(1))
	}
}
