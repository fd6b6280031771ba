package param

import (
	"encoding/json"
	"maps"
	"net/url"
	"testing"
	"unicode/utf8"
)

func FuzzParse(f *testing.F) {
	f.Add("namespaceId=public&serviceName=DEFAULT_GROUP@@svc&beat="+sdkBeatJSON, "beat", sdkBeatJSON, "serviceName", "g@@s", "", "x")
	f.Add(`a={"&b={"&c=[1,"]"]&d=%zz`, "a", "1", "a", "2", "b&c", "d=e")
	f.Add("k=%41+%&&=&x", "{", "[", "%", "+", " ", "\xff")
	f.Fuzz(func(t *testing.T, raw, k1, v1, k2, v2, k3, v3 string) {
		// Arbitrary input: no panic, linear work, same result from query or body.
		v := make(Values)
		if work, limit := parseInto(v, raw), 3*len(raw)+3; work > limit {
			t.Errorf("got %d bytes examined, want at most %d", work, limit)
		}
		if _, ok := v[""]; ok {
			t.Errorf("got empty key in %q, want none", v)
		}
		if got := Parse("", []byte(raw)); !maps.Equal(got, v) {
			t.Errorf("got %q from body, want %q as from query", got, v)
		}

		// Properly encoded input comes back exactly, first value winning.
		enc := url.Values{}
		enc.Add(k1, v1)
		enc.Add(k2, v2)
		enc.Add(k3, v3)
		want := Values{}
		for k, vs := range enc {
			if k != "" {
				want[k] = vs[0]
			}
		}
		if got := Parse(enc.Encode(), nil); !maps.Equal(got, want) {
			t.Errorf("Parse(%q) got %q, want %q", enc.Encode(), got, want)
		}

		// Raw JSON values, as nacos-sdk-go sends them, come back verbatim.
		obj, err := json.Marshal(map[string]any{k1: v1, k2: []string{v2, k3}})
		if err != nil {
			t.Fatal(err)
		}
		arr, err := json.Marshal([]string{v3, k3})
		if err != nil {
			t.Fatal(err)
		}
		body := "a=x&beat=" + string(obj) + "&list=" + string(arr) + "&b=y"
		want = Values{"a": "x", "beat": string(obj), "list": string(arr), "b": "y"}
		if got := Parse("", []byte(body)); !maps.Equal(got, want) {
			t.Errorf("Parse(%q) got %q, want %q", body, got, want)
		}
	})
}

func FuzzMetadata(f *testing.F) {
	f.Add(`{"a":"x&y=z%20","n":1.5,"t":true,"z":null}`)
	f.Add("a=1,b=x=y,,c=")
	f.Add(`{"a":{"b":1}}`)
	f.Add(`{"\u0000":"x"}`)
	f.Add("=,=,a")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := Metadata("metadata", s)
		if err != nil {
			if m != nil {
				t.Errorf("got %q with error %v, want nil map", m, err)
			}
			return
		}
		if m == nil {
			t.Fatal("got nil map, want non-nil")
		}
		if len(m) > MaxMetadataKeys {
			t.Errorf("got %d keys, want at most %d", len(m), MaxMetadataKeys)
		}
		total := 0
		for k, v := range m {
			total += len(k) + len(v)
			if k == "" || len(k) > MaxMetadataKeyLen || textProblem(k) != "" || !utf8.ValidString(v) {
				t.Errorf("got accepted key %q value %q, want rejected", k, v)
			}
		}
		if total > MaxMetadataBytes {
			t.Errorf("got %d bytes, want at most %d", total, MaxMetadataBytes)
		}
		js, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		again, err := Metadata("metadata", string(js))
		if err != nil {
			t.Fatalf("got error %v re-parsing %q, want nil", err, js)
		}
		if !maps.Equal(again, m) {
			t.Errorf("got %q after round trip, want %q", again, m)
		}
	})
}

func FuzzIP(f *testing.F) {
	for _, s := range []string{"10.0.0.1", "1.2.3.256", "::ffff:1.2.3.4", "fe80::1%eth0", "Web-1.example.com", "a..b", "1.2.3.a", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := IP("ip", s)
		if err != nil {
			return
		}
		again, err := IP("ip", got)
		if err != nil {
			t.Fatalf("IP(%q) = %q, which got error %v, want nil", s, got, err)
		}
		if again != got {
			t.Errorf("IP(%q) = %q, then %q, want stable", s, got, again)
		}
	})
}
