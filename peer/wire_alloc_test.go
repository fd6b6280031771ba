package peer

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

// TestWire_encodeBodyPresized checks that a deltas request is encoded
// into one buffer its Msgsize bounds, and decodes to what was encoded.
func TestWire_encodeBodyPresized(t *testing.T) {
	for _, n := range []int{0, 1, 5, 100} {
		in := deltasRequest{Records: sampleRecords(n), Repair: n == 1}
		b, _, err := encodeBody(&in)
		if err != nil {
			t.Fatal(err)
		}
		var out deltasRequest
		if err := decodeBody(b, msgpackType, &out, nil); err != nil || !reflect.DeepEqual(in, out) {
			t.Fatalf("%d records: the round trip changed them (%v)", n, err)
		}
		if len(b) > in.Msgsize() {
			t.Fatalf("%d records: %d bytes encoded, over the Msgsize bound %d", n, len(b), in.Msgsize())
		}
		if allocs := testing.AllocsPerRun(20, func() { _, _, _ = encodeBody(&in) }); allocs > 1 {
			t.Errorf("%d records: %.0f allocations per encoding, want 1", n, allocs)
		}
	}
}

// TestWire_appliedIsJSON checks the hand-encoded answer to a deltas
// request against encoding/json.
func TestWire_appliedIsJSON(t *testing.T) {
	for _, n := range []int{0, 7, 1 << 40, -1} {
		w := httptest.NewRecorder()
		writeApplied(w, n)
		want, _ := json.Marshal(deltasReply{Applied: n})
		if got := w.Body.String(); got != string(want) || w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/json" {
			t.Errorf("writeApplied(%d) = %d %q %q, want 200 %q application/json", n, w.Code, got, w.Header().Get("Content-Type"), want)
		}
	}
}

// TestWire_readBodyByLength checks reading a body of known length: the
// records arrive whole, a body shorter than its length fails, and a
// length over the limit is refused as too large.
func TestWire_readBodyByLength(t *testing.T) {
	in := deltasRequest{Records: sampleRecords(3)}
	body, ctype, _ := encodeBody(&in)
	req := func(b []byte, length int64) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/internal/v1/deltas", bytes.NewReader(b))
		r.Header.Set("Content-Type", ctype)
		r.ContentLength = length
		return r
	}
	var out deltasRequest
	if err := readBody(req(body, int64(len(body))), &out, internalMaxBody, nil); err != nil || len(out.Records) != 4 {
		t.Fatalf("known length: %v, %d records", err, len(out.Records))
	}
	out = deltasRequest{}
	if err := readBody(req(body, -1), &out, internalMaxBody, nil); err != nil || len(out.Records) != 4 {
		t.Fatalf("unknown length: %v, %d records", err, len(out.Records))
	}
	if err := readBody(req(body[:len(body)/2], int64(len(body))), &out, internalMaxBody, nil); err == nil || !strings.Contains(err.Error(), "read body") {
		t.Fatalf("short body: got %v, want a read error", err)
	}
	if err := readBody(req(body, int64(len(body))), &out, int64(len(body)-1), nil); !errors.Is(err, errTooLarge) {
		t.Fatalf("over the limit: got %v, want errTooLarge", err)
	}
	j := req([]byte(`{"records":[]}`), 14)
	j.Header.Set("Content-Type", "application/json")
	if err := readBody(j, &deltasRequest{}, internalMaxBody, nil); err != nil {
		t.Fatalf("JSON request of known length: %v", err)
	}
}
