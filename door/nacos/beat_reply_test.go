package nacos

import (
	"encoding/json"
	"math"
	"testing"
)

// The hand-written beat answer is byte for byte what encoding/json writes.
func TestBeatReply_sameAsEncodingJSON(t *testing.T) {
	for _, r := range []nacosBeatReply{
		{ClientBeatInterval: 5000, Code: beatOK, LightBeatEnabled: true},
		{ClientBeatInterval: 0, Code: beatNotFound},
		{ClientBeatInterval: -1, Code: -7, LightBeatEnabled: true},
		{ClientBeatInterval: math.MaxInt64, Code: math.MinInt32},
	} {
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.appendJSON(nil); string(got) != string(want) {
			t.Errorf("%+v: got %s, want %s", r, got, want)
		}
	}
}
