package peer

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roster-io/roster/store"
)

// TestReportHeard_sendsChangesAndRefreshes: a member is sent a report
// when it changed (owned partitions, which instances are quiet), when it
// is new, when the last one failed, and every refresh; an unchanged
// report, or one whose quiet ages alone grew, is not sent again sooner.
func TestReportHeard_sendsChangesAndRefreshes(t *testing.T) {
	var hits atomic.Int64
	var fail atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if fail.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("{}"))
	}))
	defer srv.Close()
	now := time.Unix(1000, 0)
	cfg := DefaultConfig()
	cfg.Self = "a"
	cfg.Now = func() time.Time { return now }
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	b := Member{Name: "b", HTTPAddr: strings.TrimPrefix(srv.URL, "http://"), Epoch: 1}
	tr.SetMembers([]Member{b})

	quiet := func(age time.Duration) []Heard {
		return []Heard{{Partition: 1, Quiet: []store.Quiet{{ID: 7, Age: age}}}, {Partition: 2}}
	}
	const refresh = 3 * time.Second
	steps := []struct {
		name    string
		advance time.Duration
		parts   []Heard
		refresh time.Duration
		fail    bool
		wantHit bool
	}{
		{"first report to a member", 0, quiet(time.Second), refresh, false, true},
		{"unchanged within refresh", time.Second, quiet(time.Second), refresh, false, false},
		{"only the quiet age grew", time.Second, quiet(3 * time.Second), refresh, false, false},
		{"unchanged at refresh", time.Second, quiet(4 * time.Second), refresh, false, true},
		{"a partition lost", 100 * time.Millisecond, []Heard{{Partition: 1, Quiet: []store.Quiet{{ID: 7}}}}, refresh, false, true},
		{"another instance quiet", 100 * time.Millisecond, []Heard{{Partition: 1, Quiet: []store.Quiet{{ID: 7}, {ID: 8}}}}, refresh, false, true},
		{"a failed delivery", 100 * time.Millisecond, quiet(0), refresh, true, true},
		{"is sent again at once", 100 * time.Millisecond, quiet(0), refresh, false, true},
		{"refresh 0 sends every time", 0, quiet(0), 0, false, true},
	}
	for _, s := range steps {
		now = now.Add(s.advance)
		fail.Store(s.fail)
		before := hits.Load()
		failed, _ := tr.ReportHeard(context.Background(), 8, s.parts, s.refresh)
		if got := hits.Load() > before; got != s.wantHit {
			t.Errorf("%s: sent %v, want %v", s.name, got, s.wantHit)
		}
		if want := map[bool]int{true: 1}[s.fail]; failed != want {
			t.Errorf("%s: failed %d, want %d", s.name, failed, want)
		}
	}
	// The same member back with a new epoch is a new member.
	tr.SetMembers([]Member{{Name: "b", HTTPAddr: b.HTTPAddr, Epoch: 2}})
	before := hits.Load()
	if _, err := tr.ReportHeard(context.Background(), 8, quiet(0), refresh); err != nil || hits.Load() == before {
		t.Errorf("a member restarted (new epoch) was not sent the report (err %v)", err)
	}
}
