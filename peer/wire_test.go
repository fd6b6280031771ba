package peer

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/tinylib/msgp/msgp"

	"github.com/roster-io/roster/store"
)

// sampleRecords returns n instance records and one service record, with
// every field set.
func sampleRecords(n int) []store.Record {
	recs := make([]store.Record, 0, n+1)
	for i := 0; i < n; i++ {
		recs = append(recs, store.Record{Key: store.Key{Namespace: "public", Group: "DEFAULT_GROUP", Service: fmt.Sprintf("svc-%d", i%7)},
			Instance: &store.Instance{InstanceKey: store.InstanceKey{Cluster: "DEFAULT", IP: fmt.Sprintf("10.0.%d.%d", i>>8&255, i&255), Port: 8080 + i},
				Weight: 1.5, Healthy: i%2 == 0, Enabled: true, Ephemeral: true, Metadata: map[string]string{"zone": "a", "v": fmt.Sprint(i)},
				BeatInterval: 5 * time.Second, BeatTimeout: 15 * time.Second, DeleteTimeout: 30 * time.Second,
				Version: store.Version{Clock: int64(1e18) + int64(i), Node: "n1"}, Deleted: i%5 == 0, Expired: i%3 == 0}})
	}
	recs = append(recs, store.Record{Key: store.Key{Namespace: "ns", Group: "g", Service: "s"},
		Service: &store.ServiceInfo{ProtectThreshold: 0.5, Metadata: map[string]string{"k": "v"}, Version: store.Version{Clock: 7, Node: "n2"}, Deleted: true,
			Clusters: map[string]store.ClusterInfo{"c1": {HealthChecker: store.HealthChecker{Type: store.CheckHTTP, Path: "/h", Headers: "A:b", ExpectedCode: 204},
				CheckPort: 8081, Metadata: map[string]string{"m": "1"}}}}})
	return recs
}

func TestWire_recordsRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 100} {
		in := deltasRequest{Records: sampleRecords(n), Repair: n == 1}
		b, ctype, err := encodeBody(&in)
		if err != nil || ctype != msgpackType {
			t.Fatalf("encode: %v %q", err, ctype)
		}
		var out deltasRequest
		if err := decodeBody(b, ctype, &out, nil); err != nil {
			t.Fatalf("decode %d records: %v", n, err)
		}
		if !reflect.DeepEqual(in, out) {
			t.Fatalf("%d records changed in the round trip:\n in %+v\nout %+v", n, in.Records, out.Records)
		}
		// The same value sent as JSON decodes to the same records.
		j, _ := json.Marshal(&in)
		var viaJSON deltasRequest
		if err := decodeBody(j, "application/json", &viaJSON, nil); err != nil || !reflect.DeepEqual(viaJSON, in) {
			t.Fatalf("json path: %v", err)
		}
	}
}

// TestWire_badBodies checks that malformed or hostile MessagePack is
// refused with errBadMsgpack, or a RecordError for a well-formed invalid
// record (a 400 either way), never a panic or a huge allocation.
func TestWire_badBodies(t *testing.T) {
	good, _, _ := encodeBody(&dumpReply{Records: sampleRecords(3)})
	cases := map[string][]byte{
		"empty":            {},
		"not an array":     msgp.AppendString(nil, "x"),
		"claims 4 billion": msgp.AppendArrayHeader(nil, 1<<32-1),
		"truncated":        good[:len(good)-3],
		"trailing bytes":   append(append([]byte{}, good...), 0xc0),
		"empty record":     append(msgp.AppendArrayHeader(nil, 1), append(msgp.AppendMapHeader(nil, 0), make([]byte, 16)...)...),
		"NaN weight": func() []byte {
			r := sampleRecords(1)[:1]
			r[0].Instance.Weight = math.NaN()
			b, _ := appendRecords(nil, r)
			return b
		}(),
		"huge metadata": func() []byte {
			b := msgp.AppendArrayHeader(nil, 1)
			b = msgp.AppendMapHeader(b, 2)
			b = msgp.AppendString(b, "Key")
			b = msgp.AppendMapHeader(b, 0)
			b = msgp.AppendString(b, "Instance")
			b = msgp.AppendMapHeader(b, 1)
			b = msgp.AppendString(b, "Metadata")
			return msgp.AppendMapHeader(b, 1<<31)
		}(),
	}
	for name, body := range cases {
		var out dumpReply
		err := decodeBody(body, msgpackType, &out, nil)
		var bad *RecordError
		if !errors.Is(err, errBadMsgpack) && !errors.As(err, &bad) || statusOf(err) != http.StatusBadRequest {
			t.Errorf("%s: err %v (status %d), want errBadMsgpack or a RecordError (400)", name, err, statusOf(err))
		}
	}
}

// TestWire_negotiation checks writeBody answers MessagePack only to a
// caller that accepts it.
func TestWire_negotiation(t *testing.T) {
	v := &dumpReply{Records: sampleRecords(2)}
	for accept, want := range map[string]string{"": "application/json", "application/json": "application/json",
		"application/json, application/msgpack": msgpackType} {
		r := httptest.NewRequest(http.MethodGet, "/internal/v1/dump", nil)
		if accept != "" {
			r.Header.Set("Accept", accept)
		}
		w := httptest.NewRecorder()
		writeBody(w, r, http.StatusOK, v)
		if got := w.Header().Get("Content-Type"); got != want {
			t.Errorf("Accept %q: Content-Type %q, want %q", accept, got, want)
		}
		var back dumpReply
		if err := decodeBody(w.Body.Bytes(), w.Header().Get("Content-Type"), &back, nil); err != nil || !reflect.DeepEqual(back.Records, v.Records) {
			t.Errorf("Accept %q: decode: %v", accept, err)
		}
	}
}

// FuzzWireRecords feeds arbitrary bytes to the record decoder: it must
// never panic, what it accepts must be valid records (validate.go), and
// they must encode and decode again to the same records.
func FuzzWireRecords(f *testing.F) {
	good, _, _ := encodeBody(&deltasRequest{Records: sampleRecords(2)})
	f.Add(good)
	f.Add(msgp.AppendArrayHeader(nil, 3))
	frozen := sampleRecords(2)
	frozen[1].Instance.BeatTimeout = math.MaxInt64
	bad, _, _ := encodeBody(&deltasRequest{Records: frozen})
	f.Add(bad)
	f.Fuzz(func(t *testing.T, body []byte) {
		var d deltasRequest
		if err := decodeBody(body, msgpackType, &d, nil); err != nil {
			return
		}
		for i := range d.Records {
			if err := CheckRecord(&d.Records[i]); err != nil {
				t.Fatalf("accepted an invalid record %d: %v", i, err)
			}
		}
		again, _, err := encodeBody(&d)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		var d2 deltasRequest
		if err := decodeBody(again, msgpackType, &d2, nil); err != nil || !reflect.DeepEqual(normal(d.Records), normal(d2.Records)) {
			t.Fatalf("accepted body does not round-trip: %v", err)
		}
	})
}

// normal gives every record a non-nil metadata map: an absent map and an
// empty one mean the same and encode alike.
func normal(recs []store.Record) []store.Record {
	for _, r := range recs {
		if r.Instance != nil && r.Instance.Metadata == nil {
			r.Instance.Metadata = map[string]string{}
		}
		if r.Service != nil && r.Service.Metadata == nil {
			r.Service.Metadata = map[string]string{}
		}
	}
	return recs
}

// BenchmarkDeltaCodec compares encoding and decoding a 16-record delta
// batch as JSON and as MessagePack: go test -run '^$' -bench DeltaCodec ./node/
func BenchmarkDeltaCodec(b *testing.B) {
	req := &deltasRequest{Records: sampleRecords(16)}
	jb, _ := json.Marshal(req)
	mb, _, _ := encodeBody(req)
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			out, _ := json.Marshal(req)
			var d deltasRequest
			if err := json.Unmarshal(out, &d); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(jb)), "bytes")
	})
	b.Run("msgpack", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			out, _, _ := encodeBody(req)
			var d deltasRequest
			if err := decodeBody(out, msgpackType, &d, nil); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(mb)), "bytes")
	})
}
