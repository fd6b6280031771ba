package peer

import (
	"encoding/json"
	"testing"
	"time"
)

// benchBeats is a 64-beat hand-off as Nacos clients make them: every
// beat carries the instance it re-registers.
func benchBeats() *beatsRequest {
	beats := sampleBeats(64)
	for i := range beats {
		if beats[i].Register == nil {
			r := validBeat().Register
			r.InstanceKey = beats[i].Instance
			beats[i].Register = r
		}
	}
	return &beatsRequest{Beats: beats, Sent: time.Now().UnixNano()}
}

// BenchmarkBeatsCodec compares encoding and decoding a 64-beat hand-off
// request and its answer as JSON and as MessagePack, as the sender and
// the owner do (decoding includes the validation decodeBody runs):
//
//	go test -run '^$' -bench BeatsCodec -benchmem -count 6 ./peer/
func BenchmarkBeatsCodec(b *testing.B) {
	req := benchBeats()
	reply := &beatsReply{Answers: make([]BeatAnswer, len(req.Beats))}
	for i := range reply.Answers {
		reply.Answers[i] = BeatAnswer{Found: true, IntervalMs: 5000}
	}
	codecs := []struct {
		name string
		v    any // what the sender encodes
		out  func() any
	}{
		{"request/json", req, func() any { return new(beatsRequest) }},
		{"request/msgpack", (*beatsMsgpack)(req), func() any { return new(beatsRequest) }},
		{"reply/json", jsonOnly{reply}, func() any { return new(beatsReply) }},
		{"reply/msgpack", reply, func() any { return new(beatsReply) }},
	}
	for _, c := range codecs {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var size int
			for b.Loop() {
				body, ctype, err := encodeBody(c.v)
				if err != nil {
					b.Fatal(err)
				}
				if err := decodeBody(body, ctype, c.out(), nil); err != nil {
					b.Fatal(err)
				}
				size = len(body)
			}
			b.ReportMetric(float64(size), "bytes")
		})
	}
}

// jsonOnly hides a value's MessagePack encoder from encodeBody, as
// writeBody does for a caller that does not accept MessagePack.
type jsonOnly struct{ v any }

func (j jsonOnly) MarshalJSON() ([]byte, error) { return json.Marshal(j.v) }
