package peer

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roster-io/roster/store"
)

// subPair is a stream pair whose server holds 300 instances of one
// service and a local replica of them that misses one; it returns the
// pair, the replica, the service's partition and the missed record's ID.
func subPair(t *testing.T, old bool) (*streamPair, *store.Store, int, uint64) {
	t.Helper()
	p := newStreamPair(t, []byte("secret"), false, old)
	st := p.recv.st
	local, err := store.New(store.Config{Node: "n0", Now: time.Now, TombstoneTTL: time.Minute, Partitions: 4093,
		Partition: func(k store.Key) int { return len(k.Service) % 4093 }})
	if err != nil {
		t.Fatal(err)
	}
	k := store.Key{Namespace: "public", Group: "g", Service: "svc"}
	var missed store.Instance
	for i := range 300 {
		in, err := st.Register(k, store.Instance{InstanceKey: store.InstanceKey{Cluster: "DEFAULT", IP: "10.0.1." + strconv.Itoa(i), Port: 80},
			Weight: 1, Healthy: true, Enabled: true, Ephemeral: true})
		if err != nil {
			t.Fatal(err)
		}
		if i == 17 {
			missed = in
			continue
		}
		local.Merge(k, in)
	}
	return p, local, len(k.Service) % 4093, idOf(st, k, missed)
}

// idOf returns the summary ID of in, as st's summary names it.
func idOf(st *store.Store, k store.Key, in store.Instance) uint64 {
	p := len(k.Service) % 4093
	for _, e := range st.Summaries([]int{p})[0] {
		if e.Clock == in.Version.Clock {
			return e.ID
		}
	}
	return 0
}

// Asked with its sub-digests, a peer answers the summaries of only the
// buckets that differ: here the one holding the record the asker misses.
func TestSubSummaries_onlyTheBucketsThatDiffer(t *testing.T) {
	p, local, part, id := subPair(t, false)
	sums, masks, err := p.tr.SubSummaries(context.Background(), p.m, []int{part}, local.SubDigests([]int{part}))
	if err != nil {
		t.Fatal(err)
	}
	if len(masks) != 1 || masks[0] == 0 || masks[0]&(masks[0]-1) != 0 {
		t.Fatalf("masks %x, want one bucket", masks)
	}
	if !slices.ContainsFunc(sums[0], func(e store.SummaryEntry) bool { return e.ID == id }) {
		t.Fatalf("the summary of bucket mask %x lacks the missed record %x", masks[0], id)
	}
	if len(sums[0]) > 300/8 {
		t.Fatalf("%d entries for one bucket of 300 records; want a few", len(sums[0]))
	}
	mine := local.SummariesIn([]int{part}, masks)[0]
	if len(mine) != len(sums[0])-1 {
		t.Fatalf("the asker's summary of the bucket has %d entries, the peer's %d; want one fewer", len(mine), len(sums[0]))
	}
}

// A peer of a build without the endpoint is asked the whole summaries.
func TestSubSummaries_olderPeerAnswersWhole(t *testing.T) {
	p, local, part, id := subPair(t, true)
	path := "/internal/v1/summary/sub"
	p.missing.Store(&path)
	sums, masks, err := p.tr.SubSummaries(context.Background(), p.m, []int{part}, local.SubDigests([]int{part}))
	if err != nil {
		t.Fatal(err)
	}
	if len(masks) != 1 || masks[0] != store.AllBuckets || len(sums[0]) != 300 || !slices.ContainsFunc(sums[0], func(e store.SummaryEntry) bool { return e.ID == id }) {
		t.Fatalf("masks %x and %d entries; want every bucket and all 300 records", masks, len(sums[0]))
	}
}

// Sub-digests of the wrong size or count are refused with a 400 naming
// the field.
func TestSubSummaries_badSubsRefused(t *testing.T) {
	p, _, part, _ := subPair(t, false)
	for _, subs := range [][][]byte{{make([]byte, 7)}, {nil, nil}} {
		_, _, err := p.tr.SubSummaries(context.Background(), p.m, []int{part}, subs)
		if answerStatus(err) != 400 || !strings.Contains(err.Error(), "subs") {
			t.Fatalf("%d subs, first %d bytes: %v, want a 400 naming subs", len(subs), len(subs[0]), err)
		}
	}
}

func TestSubSummaryReply_roundTrip(t *testing.T) {
	in := subSummaryReply{Masks: []uint64{5, store.AllBuckets}, Summaries: [][]byte{store.AppendSummary(nil, []store.SummaryEntry{{ID: 1, Clock: 2, Hash: 3}}), {}}}
	b, err := in.MarshalMsg(nil)
	if err != nil {
		t.Fatal(err)
	}
	var out subSummaryReply
	if rest, err := out.UnmarshalMsg(b); err != nil || len(rest) != 0 {
		t.Fatalf("unmarshal: rest %d, err %v", len(rest), err)
	}
	if !slices.Equal(out.Masks, in.Masks) || len(out.Summaries) != 2 || string(out.Summaries[0]) != string(in.Summaries[0]) {
		t.Fatalf("got %+v, want %+v", out, in)
	}
	if _, err := out.UnmarshalMsg(b[:len(b)-3]); err == nil {
		t.Fatal("truncated reply decoded without error")
	}
}
