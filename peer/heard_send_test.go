package peer

import (
	"context"
	"encoding/json"
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
// is new, when the last one failed, and a renewal every refresh (the
// whole report at once if it refuses the renewal); an unchanged report,
// or one whose quiet ages alone grew, is not sent again sooner.
func TestReportHeard_sendsChangesAndRefreshes(t *testing.T) {
	var hits, renewals atomic.Int64
	var fail atomic.Bool
	var refuseRenewal atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		var req heardRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			t.Errorf("body: %v", err)
		}
		if req.Same != "" {
			renewals.Add(1)
			if len(req.Owned) != 0 || req.RefreshMS != 3000 {
				t.Errorf("renewal %+v: want no bitmap and the refresh", req)
			}
			if code := int(refuseRenewal.Load()); code != 0 {
				http.Error(w, `{"error":"not held"}`, code)
				return
			}
		}
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
	b := Member{Name: "b", HTTPAddr: strings.TrimPrefix(srv.URL, "http://"), Epoch: 1}
	tr.SetMembers([]Member{b})

	quiet := func(age time.Duration) []Heard {
		return []Heard{{Partition: 1, Quiet: []store.Quiet{{ID: 7, Age: age}}}, {Partition: 2}}
	}
	const refresh = 3 * time.Second
	steps := []struct {
		name      string
		advance   time.Duration
		parts     []Heard
		refresh   time.Duration
		fail      bool
		refuse    int32 // the member answers a renewal with this status
		wantHits  int64
		wantRenew int64
	}{
		{"first report to a member", 0, quiet(time.Second), refresh, false, 0, 1, 0},
		{"unchanged within refresh", time.Second, quiet(time.Second), refresh, false, 0, 0, 0},
		{"only the quiet age grew", time.Second, quiet(3 * time.Second), refresh, false, 0, 0, 0},
		{"unchanged at refresh: renewed", time.Second, quiet(4 * time.Second), refresh, false, 0, 1, 1},
		{"renewal refused: sent whole at once", refresh, quiet(7 * time.Second), refresh, false, 409, 2, 1},
		{"renewal refused by an older build (400): sent whole", refresh, quiet(10 * time.Second), refresh, false, 400, 2, 1},
		{"a partition lost", 100 * time.Millisecond, []Heard{{Partition: 1, Quiet: []store.Quiet{{ID: 7}}}}, refresh, false, 0, 1, 0},
		{"another instance quiet", 100 * time.Millisecond, []Heard{{Partition: 1, Quiet: []store.Quiet{{ID: 7}, {ID: 8}}}}, refresh, false, 0, 1, 0},
		{"a failed delivery", 100 * time.Millisecond, quiet(0), refresh, true, 0, 1, 0},
		{"is sent again at once", 100 * time.Millisecond, quiet(0), refresh, false, 0, 1, 0},
		{"refresh 0 sends every time", 0, quiet(0), 0, false, 0, 1, 0},
	}
	for _, s := range steps {
		now = now.Add(s.advance)
		fail.Store(s.fail)
		refuseRenewal.Store(s.refuse)
		before, renewedBefore := hits.Load(), renewals.Load()
		failed, _ := tr.ReportHeard(context.Background(), 8, s.parts, s.refresh)
		if got, renewed := hits.Load()-before, renewals.Load()-renewedBefore; got != s.wantHits || renewed != s.wantRenew {
			t.Errorf("%s: sent %d (%d renewals), want %d (%d)", s.name, got, renewed, s.wantHits, s.wantRenew)
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

// TestReportHeard_renewalEndToEnd, over a stream and over plain HTTP: an
// unchanged report is renewed once its refresh is due, and a member that
// does not hold it (here: forgot it) refuses the renewal and is sent the
// whole report at once.
func TestReportHeard_renewalEndToEnd(t *testing.T) {
	for _, old := range []bool{false, true} {
		p := newStreamPair(t, []byte("k"), false, old)
		ctx := context.Background()
		report := []Heard{{Partition: 7, Quiet: []store.Quiet{{ID: 3, Age: time.Second}}}}
		counts := func() (int, int) {
			p.recv.mu.Lock()
			defer p.recv.mu.Unlock()
			return p.recv.heard, p.recv.renewed
		}
		for i, want := range []struct{ heard, renewed int }{{1, 0}, {1, 1}, {2, 1}} {
			if i == 2 {
				p.recv.mu.Lock()
				p.recv.heardKey = 0 // the member no longer holds the report
				p.recv.mu.Unlock()
			}
			if failed, err := p.tr.ReportHeard(ctx, 4093, report, time.Nanosecond); failed != 0 {
				t.Fatalf("old server %v, step %d: %v", old, i, err)
			}
			if heard, renewed := counts(); heard != want.heard || renewed != want.renewed {
				t.Fatalf("old server %v, step %d: %d reports and %d renewals, want %d and %d", old, i, heard, renewed, want.heard, want.renewed)
			}
		}
	}
}
