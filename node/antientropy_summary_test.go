package node

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/roster-io/roster/store"
)

func TestCompareSummaries(t *testing.T) {
	const cutoff = 1000
	e := func(id uint64, clock int64, hash uint64) store.SummaryEntry {
		return store.SummaryEntry{ID: id, Clock: clock, Hash: hash}
	}
	tests := []struct {
		name         string
		mine, theirs []store.SummaryEntry
		pull, push   []uint64
		inFlight     int
	}{
		{name: "equal", mine: []store.SummaryEntry{e(1, 10, 7)}, theirs: []store.SummaryEntry{e(1, 10, 7)}},
		{name: "theirs newer and settled", mine: []store.SummaryEntry{e(1, 10, 7)}, theirs: []store.SummaryEntry{e(1, 20, 8)}, pull: []uint64{1}},
		{name: "mine newer and settled", mine: []store.SummaryEntry{e(1, 30, 9)}, theirs: []store.SummaryEntry{e(1, 20, 8)}, push: []uint64{1}},
		{name: "only theirs", theirs: []store.SummaryEntry{e(2, 20, 8)}, pull: []uint64{2}},
		{name: "only mine", mine: []store.SummaryEntry{e(3, 20, 8)}, push: []uint64{3}},
		{name: "same clock, other version", mine: []store.SummaryEntry{e(1, 20, 7)}, theirs: []store.SummaryEntry{e(1, 20, 8)}, pull: []uint64{1}, push: []uint64{1}},
		{name: "theirs in flight", mine: []store.SummaryEntry{e(1, 10, 7)}, theirs: []store.SummaryEntry{e(1, 1001, 8)}, inFlight: 1},
		{name: "new record in flight", mine: []store.SummaryEntry{e(4, 1500, 8)}, inFlight: 1},
		{name: "mixed", mine: []store.SummaryEntry{e(1, 10, 7), e(3, 1200, 5), e(5, 40, 6)},
			theirs: []store.SummaryEntry{e(1, 10, 7), e(2, 50, 4), e(5, 30, 3)}, pull: []uint64{2}, push: []uint64{5}, inFlight: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := summaryDiff{pull: map[uint64]bool{}, push: map[uint64]bool{}}
			compareSummaries(tt.mine, tt.theirs, cutoff, &d)
			if got := slices.Sorted(maps.Keys(d.pull)); !slices.Equal(got, tt.pull) {
				t.Errorf("pull: got %v, want %v", got, tt.pull)
			}
			if got := slices.Sorted(maps.Keys(d.push)); !slices.Equal(got, tt.push) {
				t.Errorf("push: got %v, want %v", got, tt.push)
			}
			if d.inFlight != tt.inFlight {
				t.Errorf("in flight: got %d, want %d", d.inFlight, tt.inFlight)
			}
		})
	}
}

func TestSummaryReply_roundTrip(t *testing.T) {
	in := summaryReply{Summaries: [][]byte{store.AppendSummary(nil, []store.SummaryEntry{{ID: 1, Clock: 2, Hash: 3}}), {}}}
	b, err := in.MarshalMsg(nil)
	if err != nil {
		t.Fatal(err)
	}
	var out summaryReply
	if rest, err := out.UnmarshalMsg(b); err != nil || len(rest) != 0 {
		t.Fatalf("unmarshal: rest %d, err %v", len(rest), err)
	}
	es, ok := store.ParseSummary(out.Summaries[0])
	if !ok || len(out.Summaries) != 2 || len(es) != 1 || es[0] != (store.SummaryEntry{ID: 1, Clock: 2, Hash: 3}) {
		t.Fatalf("got %+v (%v), want the entry back", out, es)
	}
	if _, err := out.UnmarshalMsg(b[:len(b)-3]); err == nil {
		t.Fatal("truncated reply decoded without error")
	}
}

// TestInternal_summaryAndPullCheckPartitions checks the summary and pull
// endpoints answer a member's request for partitions outside the ring
// with 400, a non-member with 403, and a good request with the records.
func TestInternal_summaryAndPullCheckPartitions(t *testing.T) {
	tc := newTestCluster(t, 2)
	n0 := tc.node("n0")
	if code, body := nacos(t, base(n0), http.MethodPost, "instance", vals("serviceName", "sum", "ip", "10.0.0.1", "port", "80", "ephemeral", "false")); code != 200 {
		t.Fatalf("register: %d %s", code, body)
	}
	part := n0.ring.Partition(store.Key{Namespace: "public", Group: "DEFAULT_GROUP", Service: "sum"}.String())
	post := func(path, from, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base(n0)+path, strings.NewReader(body))
		req.Header.Set(NodeHeader, from)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, path := range []string{"/internal/v1/summary", "/internal/v1/pull"} {
		for _, bad := range []string{`{"partitions":[-1]}`, `{"partitions":[4093]}`} {
			if code, body := post(path, "n1", bad); code != http.StatusBadRequest || !strings.Contains(body, "partition") {
				t.Errorf("%s %s: got %d %s, want 400 naming the partition", path, bad, code, body)
			}
		}
		if code, _ := post(path, "nobody", fmt.Sprintf(`{"partitions":[%d]}`, part)); code != http.StatusForbidden {
			t.Errorf("%s from a non-member: got %d, want 403", path, code)
		}
	}
	code, body := post("/internal/v1/summary", "n1", fmt.Sprintf(`{"partitions":[%d]}`, part))
	var sum summaryReply
	if code != 200 || json.Unmarshal([]byte(body), &sum) != nil || len(sum.Summaries) != 1 || len(sum.Summaries[0]) != store.SummaryEntryBytes {
		t.Fatalf("summary: got %d %s, want one partition with one entry", code, body)
	}
	es, _ := store.ParseSummary(sum.Summaries[0])
	ids := map[uint64]bool{es[0].ID: true}
	code, body = post("/internal/v1/pull", "n1", fmt.Sprintf(`{"partitions":[%d],"ids":%q}`, part, base64.StdEncoding.EncodeToString(encodeIDs(ids))))
	if code != 200 || !strings.Contains(body, `"10.0.0.1"`) {
		t.Fatalf("pull by id: got %d %s, want the one record", code, body)
	}
}
