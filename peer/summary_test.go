package peer

import (
	"testing"

	"github.com/roster-io/roster/store"
)

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
