package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// slowNacos answers Nacos registrations at once and beats after delay,
// with clientBeatInterval answer.
func slowNacos(t *testing.T, delay, answer time.Duration) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
			_, _ = fmt.Fprintf(w, `{"clientBeatInterval":%d,"code":10200}`, answer.Milliseconds())
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// overloadFigures runs the overload mode for about a second against a
// node answering beats after delay, one connection per instance.
func overloadFigures(t *testing.T, delay, answer time.Duration, cfg BeatConfig) map[string]float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	env := &Env{Client: &Client{HTTP: NewHTTPClient(4, time.Second), Addrs: []string{slowNacos(t, delay, answer)}},
		Concurrency: cfg.Instances, Duration: 1200 * time.Millisecond}
	cfg.Depth, cfg.Check = 64, time.Hour
	r, err := Overload(ctx, env, cfg)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range r.Figures {
		out[f.Name] = f.Value
	}
	return out
}

// As a Nacos client, an instance of the closed loop sends its next beat
// an interval after the last was answered, so a node that answers in
// 300 ms gets a beat per instance every 400 ms, not every 100 ms; the open
// loop sends on its schedule whatever became of the last.
func TestOverload_closedLoopWaitsForTheAnswer(t *testing.T) {
	const n, delay, interval = 4, 300 * time.Millisecond, 100 * time.Millisecond
	closed := overloadFigures(t, delay, interval, BeatConfig{Instances: n, Interval: interval})
	// 1.2 s measured: at most 3 full cycles of 400 ms per instance, 4
	// with a partial one at either end.
	if got := closed["beat tries sent per second"]; got <= 0 || got > n*4/1.2 {
		t.Errorf("closed loop: %v tries/s, want > 0 and at most %v", got, n*4/1.2)
	}
	if got := closed["tries given up (no answer within the timeout)"]; got != 0 {
		t.Errorf("closed loop: %v tries given up, want 0 with the 10 s timeout", got)
	}
	open := overloadFigures(t, delay, interval, BeatConfig{Instances: n, Interval: interval, OpenLoop: true})
	if got := open["beat tries sent per second"]; got < n*8 {
		t.Errorf("open loop: %v tries/s, want about %v", got, n*10)
	}
}

// A try not answered within the timeout is given up: the instance moves
// on to its next period, and the late answer is not counted as goodput.
func TestOverload_closedLoopGivesUpAfterTheTimeout(t *testing.T) {
	got := overloadFigures(t, 500*time.Millisecond, 100*time.Millisecond, BeatConfig{Instances: 4, Interval: 100 * time.Millisecond,
		Timeout: 150 * time.Millisecond})
	if got["tries given up (no answer within the timeout)"] < 4 {
		t.Errorf("%v tries given up, want every one (each waits 500 ms, the timeout is 150 ms)", got["tries given up (no answer within the timeout)"])
	}
	if got["goodput (beats answered 200)"] != 0 {
		t.Errorf("goodput %v, want 0: every answer came after its try was given up", got["goodput (beats answered 200)"])
	}
}

// As Nacos clients, closed-loop instances adopt the clientBeatInterval a
// beat is answered with: a node answering at once with 400 ms gets a beat
// per instance every 400 ms, not every 100 ms.
func TestOverload_closedLoopAdoptsTheAnsweredInterval(t *testing.T) {
	const n = 4
	got := overloadFigures(t, 0, 400*time.Millisecond, BeatConfig{Instances: n, Interval: 100 * time.Millisecond})
	// 1.2 s measured: at most 4 beats per instance, where 100 ms would give 12.
	if tries := got["beat tries sent per second"]; tries <= 0 || tries > n*4/1.2 {
		t.Errorf("%v tries/s, want > 0 and at most %v", tries, n*4/1.2)
	}
}

func TestTimelineByFive_meansPerSecondOfEachFiveSeconds(t *testing.T) {
	tl := map[int64][2]int{0: {5, 0}, 4: {5, 10}, 7: {50, 0}, 11: {0, 5}}
	if got, want := timelineByFive(tl), "0s 2 (2), 5s 10 (0), 10s 0 (1)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := timelineByFive(nil); got != "" {
		t.Errorf("empty timeline: got %q", got)
	}
}
