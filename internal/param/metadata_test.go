package param

import (
	"encoding/json"
	"maps"
	"strconv"
	"strings"
	"testing"
)

func TestMetadata(t *testing.T) {
	manyKeys := func(n int) string {
		m := make(map[string]string, n)
		for i := range n {
			m["k"+strconv.Itoa(i)] = "v"
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	manyPairs := func(n int) string {
		var b strings.Builder
		for i := range n {
			b.WriteString("k" + strconv.Itoa(i) + "=v,")
		}
		return b.String()
	}
	longKey := strings.Repeat("k", MaxMetadataKeyLen)
	tests := []struct {
		name    string
		in      string
		want    map[string]string
		wantErr string
	}{
		{name: "empty", in: "", want: map[string]string{}},
		{name: "blank", in: "  ", want: map[string]string{}},
		{name: "empty object", in: "{}", want: map[string]string{}},
		{
			name: "JSON strings",
			in:   `{"a":"x&y=z%20","b":"","c":"\u00e9"}`,
			want: map[string]string{"a": "x&y=z%20", "b": "", "c": "é"},
		},
		{
			name: "JSON scalars",
			in:   ` {"n":12.50, "neg":-1, "t":true, "f":false, "z":null} `,
			want: map[string]string{"n": "12.50", "neg": "-1", "t": "true", "f": "false", "z": ""},
		},
		{
			name: "pairs",
			in:   "a=1,b=x=y,c=",
			want: map[string]string{"a": "1", "b": "x=y", "c": ""},
		},
		{
			name: "pairs last wins and empty pairs skipped",
			in:   "a=1,,a=2,",
			want: map[string]string{"a": "2"},
		},
		{name: "max keys", in: manyKeys(MaxMetadataKeys), want: func() map[string]string {
			var m map[string]string
			_ = json.Unmarshal([]byte(manyKeys(MaxMetadataKeys)), &m)
			return m
		}()},
		{name: "max pairs", in: manyPairs(MaxMetadataKeys), want: func() map[string]string {
			m := make(map[string]string)
			for i := range MaxMetadataKeys {
				m["k"+strconv.Itoa(i)] = "v"
			}
			return m
		}()},
		{name: "max key length", in: longKey + "=v", want: map[string]string{longKey: "v"}},
		{name: "too many keys", in: manyKeys(MaxMetadataKeys + 1), wantErr: "invalid metadata: more than 128 keys"},
		{
			name:    "too many pairs",
			in:      manyPairs(MaxMetadataKeys+1) + strings.Repeat("x,", 100),
			wantErr: "invalid metadata: more than 128 keys",
		},
		{
			name:    "too many bytes",
			in:      "a=" + strings.Repeat("v", MaxMetadataBytes),
			wantErr: "invalid metadata: keys and values exceed 16384 bytes",
		},
		{
			name:    "input too long",
			in:      `{"a":"` + strings.Repeat(" ", maxMetadataInput) + `"}`,
			wantErr: "invalid metadata: longer than 262144 bytes",
		},
		{name: "nested object", in: `{"a":"1","o":{"x":1}}`, wantErr: `invalid metadata: key "o": nested objects and arrays are not allowed`},
		{name: "nested array", in: `{"l":[1]}`, wantErr: `invalid metadata: key "l": nested objects and arrays are not allowed`},
		{name: "malformed JSON", in: `{"a":}`, wantErr: "invalid metadata: malformed JSON: invalid character '}' looking for beginning of value"},
		{name: "trailing data", in: `{"a":"b"} x`, wantErr: "invalid metadata: malformed JSON: invalid character 'x' after top-level value"},
		{name: "JSON array", in: `["a"]`, wantErr: "invalid metadata: must be a JSON object or k=v pairs"},
		{name: "empty JSON key", in: `{"":"x"}`, wantErr: "invalid metadata: empty key"},
		{name: "empty pair key", in: "=x", wantErr: "invalid metadata: empty key"},
		{name: "pair without equals", in: "a=1,b", wantErr: `invalid metadata: pair "b" has no "="`},
		{name: "control in key", in: `{"a\u0001":"x"}`, wantErr: `invalid metadata: key "a\x01": contains control character '\x01'`},
		{name: "control in value allowed", in: `{"a":"x\u0001"}`, want: map[string]string{"a": "x\x01"}},
		{name: "key too long", in: longKey + "k=v", wantErr: `invalid metadata: key "` + longKey[:32] + `...": longer than 256 bytes`},
		{name: "bad utf8 JSON", in: "{\"a\":\"\xff\"}", wantErr: "invalid metadata: not valid UTF-8"},
		{name: "bad utf8 key", in: "a\xff=1", wantErr: `invalid metadata: key "a\xff": not valid UTF-8`},
		{name: "bad utf8 value", in: "a=\xff", wantErr: `invalid metadata: key "a": value is not valid UTF-8`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Metadata("metadata", tt.in)
			checkErr(t, err, tt.wantErr)
			if tt.wantErr == "" && got == nil {
				t.Fatalf("got nil map, want non-nil")
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMetadata_fromSDKBeat(t *testing.T) {
	v := Parse("", []byte("serviceName=DEFAULT_GROUP@@svc&beat="+sdkBeatJSON))
	var beat struct {
		Metadata json.RawMessage `json:"metadata"`
	}
	if err := json.Unmarshal([]byte(v.Get("beat")), &beat); err != nil {
		t.Fatalf("got error %v decoding beat, want nil", err)
	}
	got, err := Metadata("metadata", string(beat.Metadata))
	if err != nil {
		t.Fatalf("got error %v, want nil", err)
	}
	want := map[string]string{"a": "x&y=z%20"}
	if !maps.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestCheckMetadata(t *testing.T) {
	tests := []struct {
		name    string
		in      map[string]string
		wantErr string
	}{
		{name: "nil", in: nil},
		{name: "ok", in: map[string]string{"a": "1"}},
		{name: "empty key", in: map[string]string{"": "1"}, wantErr: "invalid metadata: empty key"},
		{name: "control in key", in: map[string]string{"a\n": "1"}, wantErr: `invalid metadata: key "a\n": contains control character '\n'`},
		{name: "bad utf8 value", in: map[string]string{"a": "\xff"}, wantErr: `invalid metadata: key "a": value is not valid UTF-8`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, CheckMetadata("metadata", tt.in), tt.wantErr)
		})
	}
}
