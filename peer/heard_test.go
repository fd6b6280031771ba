package peer

import (
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/roster-io/roster/store"
)

func TestHeard_roundTrip(t *testing.T) {
	in := []Heard{
		{Partition: 3, Quiet: []store.Quiet{{ID: 1, Age: 1500 * time.Millisecond}, {ID: 9, Age: 48 * time.Hour}}},
		{Partition: 0},
	}
	got, err := encodeHeard(4, in, 3300*time.Millisecond).decode(4)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range got {
		if h.Holds != 3300*time.Millisecond {
			t.Fatalf("partition %d holds %v past its arrival, want the sender's refresh 3.3s", h.Partition, h.Holds)
		}
	}
	if old, err := (&heardRequest{Partitions: 4, Owned: []byte{1}}).decode(4); err != nil || old[0].Holds != 0 {
		t.Fatalf("a report without refresh_ms decoded %+v, %v; want it to hold only as of its arrival", old, err)
	}
	if len(got) != 2 || got[0].Partition != 0 || len(got[0].Quiet) != 0 || got[1].Partition != 3 || len(got[1].Quiet) != 2 {
		t.Fatalf("decoded %+v", got)
	}
	if q := got[1].Quiet; q[0] != (store.Quiet{ID: 1, Age: 1500 * time.Millisecond}) || q[1] != (store.Quiet{ID: 9, Age: maxQuietAge}) {
		t.Fatalf("quiet entries decoded %+v, want the first as sent and the second capped at %v", q, maxQuietAge)
	}
}

func TestHeard_invalidReportsRefused(t *testing.T) {
	entry := func(id uint64, ms uint32) []byte {
		b := binary.LittleEndian.AppendUint64(nil, id)
		return binary.LittleEndian.AppendUint32(b, ms)
	}
	owns := func(ps ...int) []byte {
		b := make([]byte, 1)
		for _, p := range ps {
			b[0] |= 1 << p
		}
		return b
	}
	cases := []struct {
		name  string
		req   heardRequest
		field string
	}{
		{"another ring size", heardRequest{Partitions: 8, Owned: owns(1)}, "partitions"},
		{"bitmap too short", heardRequest{Partitions: 4}, "partitions"},
		{"quiet partition not owned", heardRequest{Partitions: 4, Owned: owns(1), Quiet: []heardPart{{Partition: 2}}}, "quiet[0].p"},
		{"quiet partition outside the ring", heardRequest{Partitions: 4, Owned: owns(1), Quiet: []heardPart{{Partition: 9}}}, "quiet[0].p"},
		{"partition twice", heardRequest{Partitions: 4, Owned: owns(1), Quiet: []heardPart{{Partition: 1}, {Partition: 1}}}, "quiet[1].p"},
		{"partial entry", heardRequest{Partitions: 4, Owned: owns(1), Quiet: []heardPart{{Partition: 1, Quiet: make([]byte, 13)}}}, "quiet[0].quiet"},
		{"ids not ascending", heardRequest{Partitions: 4, Owned: owns(1), Quiet: []heardPart{{Partition: 1, Quiet: append(entry(5, 1), entry(5, 1)...)}}}, "not strictly ascending"},
		{"age too large", heardRequest{Partitions: 4, Owned: owns(1), Quiet: []heardPart{{Partition: 1, Quiet: entry(5, uint32(maxQuietAge.Milliseconds()+1))}}}, "over"},
		{"negative refresh", heardRequest{Partitions: 4, Owned: owns(1), RefreshMS: -1}, "refresh_ms"},
		{"refresh too long", heardRequest{Partitions: 4, Owned: owns(1), RefreshMS: maxHeardRefresh.Milliseconds() + 1}, "refresh_ms"},
		{"renewal with a bitmap", heardRequest{Partitions: 4, Owned: owns(1), Same: "0123456789abcdef"}, "same"},
		{"renewal key not hex", heardRequest{Partitions: 4, Same: "0123456789abcdeg"}, "same"},
		{"renewal key short", heardRequest{Partitions: 4, Same: "abc"}, "same"},
		{"renewal of another ring size", heardRequest{Partitions: 8, Same: "0123456789abcdef"}, "partitions"},
		{"renewal refresh too long", heardRequest{Partitions: 4, Same: "0123456789abcdef", RefreshMS: maxHeardRefresh.Milliseconds() + 1}, "refresh_ms"},
		{"too many entries", heardRequest{Partitions: 4, Owned: owns(1), Quiet: []heardPart{{Partition: 1, Quiet: make([]byte, (store.MaxQuietPerPartition+1)*quietEntryBytes)}}}, "at most"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var err error
			if c.req.Same != "" {
				_, err = c.req.decodeSame(4)
			} else {
				_, err = c.req.decode(4)
			}
			if err == nil || !strings.Contains(err.Error(), c.field) {
				t.Fatalf("decode got %v, want an error naming %q", err, c.field)
			}
		})
	}
}
