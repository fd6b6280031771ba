package peer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/tinylib/msgp/msgp"

	"github.com/roster-io/roster/internal/param"
	"github.com/roster-io/roster/store"
)

// sampleBeats returns n valid hand-offs, every third re-registering its
// instance (with metadata), the rest bare beats.
func sampleBeats(n int) []BeatCall {
	if n == 0 {
		return nil
	}
	out := make([]BeatCall, n)
	for i := range out {
		out[i] = BeatCall{Key: store.Key{Namespace: "public", Group: "DEFAULT_GROUP", Service: fmt.Sprintf("svc-%d", i%13)},
			Instance: store.InstanceKey{Cluster: "DEFAULT", IP: fmt.Sprintf("10.1.%d.%d", i>>8&255, i&255), Port: 8000 + i}}
		if i%3 == 0 {
			b := validBeat()
			b.Register.InstanceKey = out[i].Instance
			out[i].Register = b.Register
		}
	}
	return out
}

// sampleAnswers returns n answers of every kind: found, unknown, failed,
// stale.
func sampleAnswers(n int) []BeatAnswer {
	if n == 0 {
		return nil
	}
	out := make([]BeatAnswer, n)
	for i := range out {
		switch i % 4 {
		case 0:
			out[i] = BeatAnswer{Found: true, IntervalMs: 5000}
		case 1:
			out[i] = BeatAnswer{IntervalMs: 1}
		case 2:
			out[i] = BeatAnswer{Error: "node: too many instances", Status: http.StatusTooManyRequests}
		case 3:
			out[i] = BeatAnswer{Stale: true, Error: ErrStaleHandoff.Error()}
		}
	}
	return out
}

// encodeBeats encodes a request as a stream that agreed to MessagePack
// beats does.
func encodeBeats(t testing.TB, r *beatsRequest) []byte {
	t.Helper()
	b, ctype, err := encodeBody((*beatsMsgpack)(r))
	if err != nil || ctype != msgpackType {
		t.Fatalf("encode: %v %q", err, ctype)
	}
	return b
}

// TestWireBeats_roundTrip: requests and answers decode from MessagePack
// to what was encoded, and to what the same value sent as JSON decodes
// to; the encoding fits its Msgsize bound in one allocation.
func TestWireBeats_roundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 64} {
		in := beatsRequest{Beats: sampleBeats(n), Sent: time.Now().UnixNano()}
		b := encodeBeats(t, &in)
		var out beatsRequest
		if err := decodeBody(b, msgpackType, &out, nil); err != nil || !reflect.DeepEqual(in, out) {
			t.Fatalf("%d beats: the round trip changed them (%v):\n in %+v\nout %+v", n, err, in, out)
		}
		j, _ := json.Marshal(&in)
		var viaJSON beatsRequest
		if err := decodeBody(j, "application/json", &viaJSON, nil); err != nil || !reflect.DeepEqual(viaJSON, out) {
			t.Fatalf("%d beats: JSON and MessagePack decode differently (%v)", n, err)
		}
		if len(b) > (*beatsMsgpack)(&in).Msgsize() {
			t.Errorf("%d beats: %d bytes, over the Msgsize bound %d", n, len(b), (*beatsMsgpack)(&in).Msgsize())
		}
		if allocs := testing.AllocsPerRun(20, func() { _, _, _ = encodeBody((*beatsMsgpack)(&in)) }); allocs > 1 {
			t.Errorf("%d beats: %.0f allocations per encoding, want 1", n, allocs)
		}

		reply := beatsReply{Answers: sampleAnswers(n)}
		rb, ctype, err := encodeBody(&reply)
		if err != nil || ctype != msgpackType {
			t.Fatalf("encode reply: %v %q", err, ctype)
		}
		var back beatsReply
		if err := decodeBody(rb, msgpackType, &back, nil); err != nil || !reflect.DeepEqual(back, reply) {
			t.Fatalf("%d answers: the round trip changed them (%v)", n, err)
		}
		if len(rb) > reply.Msgsize() {
			t.Errorf("%d answers: %d bytes, over the Msgsize bound %d", n, len(rb), reply.Msgsize())
		}
	}
}

// TestWireBeats_requestIsJSONUnlessAgreed: a beats request is JSON
// wherever the peer did not agree to MessagePack (HTTP, a stream with an
// older build), since such a peer decodes it as JSON whatever its type;
// only a stream that agreed carries it as MessagePack.
func TestWireBeats_requestIsJSONUnlessAgreed(t *testing.T) {
	req := &beatsRequest{Beats: sampleBeats(3), Sent: 1}
	if _, ctype, err := encodeBody(req); err != nil || ctype != "application/json" {
		t.Fatalf("encodeBody (HTTP): %q, %v; want JSON", ctype, err)
	}
	for _, agreed := range []bool{false, true} {
		body, flags, _, err := frameBody(&session{msgpackBeats: agreed}, req)
		if err != nil {
			t.Fatal(err)
		}
		ctype := "application/json"
		if flags&flagMsgpack != 0 {
			ctype = msgpackType
		}
		if (ctype == msgpackType) != agreed {
			t.Errorf("agreed %v: the frame's body is %s", agreed, ctype)
		}
		var out beatsRequest
		if err := decodeBody(body, ctype, &out, nil); err != nil || !reflect.DeepEqual(&out, req) {
			t.Errorf("agreed %v: decode %s: %v", agreed, ctype, err)
		}
	}
}

// TestWireBeats_answerFollowsAccept: the owner answers hand-offs in
// MessagePack only to a caller that accepts it; an older build asks
// nothing (its answer type decodes only JSON) and gets JSON. Both
// request encodings are accepted.
func TestWireBeats_answerFollowsAccept(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Self = "owner"
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	s := NewServer(tr, &beatRecorder{})
	req := &beatsRequest{Beats: sampleBeats(5), Sent: time.Now().UnixNano()}
	jsonBody, _ := json.Marshal(req)
	for _, body := range []struct {
		ctype string
		b     []byte
	}{{"application/json", jsonBody}, {msgpackType, encodeBeats(t, req)}} {
		for accept, want := range map[string]string{"": "application/json", msgpackType: msgpackType} {
			r := httptest.NewRequest(http.MethodPost, "/internal/v1/beats", bytes.NewReader(body.b))
			r.Header.Set("Content-Type", body.ctype)
			if accept != "" {
				r.Header.Set("Accept", accept)
			}
			w := httptest.NewRecorder()
			s.beats(w, r, Member{Name: "peer"})
			if got := w.Header().Get("Content-Type"); w.Code != http.StatusOK || got != want {
				t.Fatalf("%s body, Accept %q: %d %q, want 200 %q (%s)", body.ctype, accept, w.Code, got, want, w.Body)
			}
			var out beatsReply
			if err := decodeBody(w.Body.Bytes(), want, &out, nil); err != nil || len(out.Answers) != 5 || !out.Answers[0].Found {
				t.Fatalf("%s body, Accept %q: answer %+v, %v", body.ctype, accept, out, err)
			}
		}
	}
}

// TestWireBeats_badBodies: malformed or hostile MessagePack is refused
// with errBadMsgpack, a well-formed invalid beat with a RecordError (a
// 400 either way), never a panic or an allocation the body cannot pay
// for.
func TestWireBeats_badBodies(t *testing.T) {
	good := encodeBeats(t, &beatsRequest{Beats: sampleBeats(3), Sent: 1})
	head := func(n uint32) []byte { // [sent, [n beats...
		return msgp.AppendArrayHeader(msgp.AppendInt64(msgp.AppendArrayHeader(nil, 2), 1), n)
	}
	beat := func(items ...[]byte) []byte {
		b := msgp.AppendArrayHeader(nil, uint32(len(items)))
		for _, it := range items {
			b = append(b, it...)
		}
		return b
	}
	key, _ := store.Key{Namespace: "public", Group: "g", Service: "s"}.MarshalMsg(nil)
	ik, _ := store.InstanceKey{Cluster: "c", IP: "10.0.0.1", Port: 1}.MarshalMsg(nil)
	pad := make([]byte, 4*minBeatBytes) // so a count check does not hide the fault
	cases := map[string][]byte{
		"empty":              {},
		"not an array":       msgp.AppendString(nil, "x"),
		"three items":        msgp.AppendArrayHeader(nil, 3),
		"sent not a number":  msgp.AppendArrayHeader(msgp.AppendString(msgp.AppendArrayHeader(nil, 2), "x"), 0),
		"claims 4 billion":   head(1<<32 - 1),
		"claims more than":   append(head(2), good[len(good)-minBeatBytes:]...),
		"truncated":          good[:len(good)-3],
		"trailing bytes":     append(append([]byte{}, good...), 0xc0),
		"beat of two":        append(head(1), append(beat(key, ik), pad...)...),
		"beat of four":       append(head(1), append(beat(key, ik, msgp.AppendNil(nil), msgp.AppendNil(nil)), pad...)...),
		"key not a map":      append(head(1), append(beat(msgp.AppendInt(nil, 1), ik, msgp.AppendNil(nil)), pad...)...),
		"port not a number":  append(head(1), append(beat(key, portString(), msgp.AppendNil(nil)), pad...)...),
		"register not a map": append(head(1), append(beat(key, ik, msgp.AppendBool(nil, true)), pad...)...),
		"huge register map":  append(head(1), append(beat(key, ik, msgp.AppendMapHeader(nil, 1<<31)), pad...)...),
		"empty namespace (invalid)": encodeBeats(t, &beatsRequest{Beats: []BeatCall{{Key: store.Key{Group: "g", Service: "s"},
			Instance: store.InstanceKey{Cluster: "c", IP: "10.0.0.1", Port: 1}}}}),
		"bad ip (invalid)": encodeBeats(t, &beatsRequest{Beats: []BeatCall{{Key: store.Key{Namespace: "public", Group: "g", Service: "s"},
			Instance: store.InstanceKey{Cluster: "c", IP: "10.0.0.256", Port: 1}}}}),
	}
	for name, body := range cases {
		var out beatsRequest
		err := decodeBody(body, msgpackType, &out, nil)
		var bad *RecordError
		if !errors.Is(err, errBadMsgpack) && !errors.As(err, &bad) || statusOf(err) != http.StatusBadRequest {
			t.Errorf("%s: err %v (status %d), want errBadMsgpack or a RecordError (400)", name, err, statusOf(err))
		}
	}
	goodReply, _, _ := encodeBody(&beatsReply{Answers: sampleAnswers(3)})
	replies := map[string][]byte{
		"empty":            {},
		"claims 4 billion": msgp.AppendArrayHeader(nil, 1<<32-1),
		"answer of four":   msgp.AppendArrayHeader(msgp.AppendArrayHeader(nil, 1), 4),
		"found not a bool": append(msgp.AppendArrayHeader(msgp.AppendArrayHeader(nil, 1), 5), make([]byte, 8)...),
		"truncated":        goodReply[:len(goodReply)-1],
		"trailing bytes":   append(append([]byte{}, goodReply...), 0xc0),
	}
	for name, body := range replies {
		var out beatsReply
		if err := decodeBody(body, msgpackType, &out, nil); !errors.Is(err, errBadMsgpack) {
			t.Errorf("reply %s: err %v, want errBadMsgpack", name, err)
		}
	}
}

// portString is an instance key whose port is a string.
func portString() []byte {
	b := msgp.AppendMapHeader(nil, 3)
	for _, kv := range [][2]string{{"Cluster", "c"}, {"IP", "10.0.0.1"}, {"Port", "1"}} {
		b = msgp.AppendString(msgp.AppendString(b, kv[0]), kv[1])
	}
	return b
}

// FuzzBeatsMsgpack feeds arbitrary bytes to the hand-off decoders (the
// request and the answer): they must never panic; an accepted request
// holds only valid beats (validate.go), and whatever either accepts
// encodes and decodes again to the same value.
func FuzzBeatsMsgpack(f *testing.F) {
	f.Add(encodeBeats(f, &beatsRequest{Beats: sampleBeats(4), Sent: 42}))
	f.Add(encodeBeats(f, &beatsRequest{}))
	bad := sampleBeats(1)
	bad[0].Register.BeatTimeout = -1
	f.Add(encodeBeats(f, &beatsRequest{Beats: bad}))
	reply, _, _ := encodeBody(&beatsReply{Answers: sampleAnswers(4)})
	f.Add(reply)
	f.Add(msgp.AppendArrayHeader(nil, 2))
	f.Fuzz(func(t *testing.T, body []byte) {
		var r beatsRequest
		if err := decodeBody(body, msgpackType, &r, nil); err == nil {
			for i := range r.Beats {
				if err := CheckBeat(&r.Beats[i]); err != nil {
					t.Fatalf("accepted an invalid beat %d: %v", i, err)
				}
			}
			var again beatsRequest
			if err := decodeBody(encodeBeats(t, &r), msgpackType, &again, nil); err != nil || !reflect.DeepEqual(normalBeats(r), normalBeats(again)) {
				t.Fatalf("accepted request does not round-trip: %v", err)
			}
		}
		var a beatsReply
		if err := decodeBody(body, msgpackType, &a, nil); err == nil {
			b, _, err := encodeBody(&a)
			var again beatsReply
			if err != nil || decodeBody(b, msgpackType, &again, nil) != nil || !reflect.DeepEqual(a, again) {
				t.Fatalf("accepted answers do not round-trip: %v", err)
			}
		}
	})
}

// normalBeats gives every re-registration a non-nil metadata map: an
// absent map and an empty one mean the same and encode alike.
func normalBeats(r beatsRequest) beatsRequest {
	for _, b := range r.Beats {
		if b.Register != nil && b.Register.Metadata == nil {
			b.Register.Metadata = map[string]string{}
		}
	}
	return r
}

// TestCheckBeat_allocations: validating a valid hand-off, or a valid
// replicated record, allocates nothing (field paths are joined only for
// an error), and an invalid one still names its field by its full path.
func TestCheckBeat_allocations(t *testing.T) {
	beat, rec := validBeat(), validInstance()
	v6 := BeatCall{Key: beat.Key, Instance: store.InstanceKey{Cluster: "c", IP: "2001:db8::1", Port: 65535}}
	for name, check := range map[string]func() error{
		"beat":        func() error { return CheckBeat(&beat) },
		"ipv6 beat":   func() error { return CheckBeat(&v6) },
		"record":      func() error { return CheckRecord(&rec) },
		"service rec": func() error { s := validService(); return CheckRecord(&s) },
	} {
		if err := check(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if name == "service rec" {
			continue // validService builds a record each run
		}
		if allocs := testing.AllocsPerRun(50, func() { _ = check() }); allocs != 0 {
			t.Errorf("%s: %.0f allocations per check, want 0", name, allocs)
		}
	}
	bad := beat
	bad.Register = &store.Instance{InstanceKey: beat.Instance, Weight: -1}
	var fe *param.FieldError
	if err := CheckBeat(&bad); !errors.As(err, &fe) || fe.Field != "register.weight" {
		t.Errorf("negative weight: %v, want a field error naming register.weight", err)
	}
}

// TestWireBeats_smallestBeat: the smallest valid beat encodes to at least
// minBeatBytes, so the count check refuses no valid body.
func TestWireBeats_smallestBeat(t *testing.T) {
	c := BeatCall{Key: store.Key{Namespace: "a", Group: "g", Service: "s"}, Instance: store.InstanceKey{Cluster: "c", IP: "::", Port: 1}}
	if err := CheckBeat(&c); err != nil {
		t.Fatalf("not a valid beat: %v", err)
	}
	b, err := appendBeat(nil, &c)
	if err != nil || len(b) < minBeatBytes {
		t.Fatalf("the smallest valid beat encodes to %d bytes (%v), under minBeatBytes %d", len(b), err, minBeatBytes)
	}
	var out beatsRequest
	body := encodeBeats(t, &beatsRequest{Beats: []BeatCall{c, c}})
	if err := decodeBody(body, msgpackType, &out, nil); err != nil || len(out.Beats) != 2 {
		t.Fatalf("two smallest beats: %v", err)
	}
}
