package peer

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestReportHeardTo_owedGauge: Stats.HeardOwed counts the members whose
// copy of the report is not the current one: an heir's paced report and
// another member's change held for its next renewal count until they are
// delivered, and a member whose delivery failed counts until it is told.
func TestReportHeardTo_owedGauge(t *testing.T) {
	var fail atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("{}"))
	}))
	defer srv.Close()
	now := time.Unix(1000, 0)
	tr := clockedTransport(t, &now)
	defer tr.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	tr.SetMembers([]Member{{Name: "heir", HTTPAddr: addr, Epoch: 1}, {Name: "other", HTTPAddr: addr, Epoch: 1}})
	plan := HeardPlan{Refresh: 30 * time.Second, Pace: 2 * time.Second, Heirs: func(n string) bool { return n == "heir" }}
	owned := func(ps ...int) []Heard {
		out := make([]Heard, len(ps))
		for i, p := range ps {
			out[i] = Heard{Partition: p}
		}
		return out
	}
	steps := []struct {
		name    string
		at      time.Duration
		parts   []Heard
		fail    bool
		want    int64
		wantErr bool
	}{
		{"first report: both told", 0, owned(1, 2), false, 0, false},
		{"a partition gained: the heir told, the other owed", 3 * time.Second, owned(1, 2, 3), false, 1, false},
		{"another within the pace: both owed", 4 * time.Second, owned(1, 2, 3, 4), false, 2, false},
		{"the pace over: the heir told", 6 * time.Second, owned(1, 2, 3, 4), false, 1, false},
		{"the other's refresh: told whole", 31 * time.Second, owned(1, 2, 3, 4), false, 0, false},
		{"unchanged: nothing owed", 32 * time.Second, owned(1, 2, 3, 4), false, 0, false},
		{"a failed delivery: both owed", 70 * time.Second, owned(1, 2, 3, 4), true, 2, true},
		{"delivered again: nothing owed", 71 * time.Second, owned(1, 2, 3, 4), false, 0, false},
	}
	for _, s := range steps {
		now = time.Unix(1000, 0).Add(s.at)
		fail.Store(s.fail)
		failed, _ := tr.ReportHeardTo(context.Background(), 8, s.parts, plan)
		if (failed > 0) != s.wantErr {
			t.Errorf("%s: %d failed", s.name, failed)
		}
		if got := tr.Stats().HeardOwed.Load(); got != s.want {
			t.Errorf("%s: owed %d, want %d", s.name, got, s.want)
		}
	}
	fail.Store(true)
	_, _ = tr.ReportHeardTo(context.Background(), 8, owned(1), plan)
	tr.SetMembers(nil) // every member left: nothing is owed, though no report follows
	if got := tr.Stats().HeardOwed.Load(); got != 0 {
		t.Errorf("no member left: owed %d, want 0", got)
	}
}
