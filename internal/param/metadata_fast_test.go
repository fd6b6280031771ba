package param

import (
	"maps"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestFlatJSON checks that the fast path takes the common forms, gives
// encoding/json's result for them, and leaves everything else to it.
func TestFlatJSON(t *testing.T) {
	taken := []string{
		`{}`, ` { } `, `{"zone":"a"}`, `{"a":"1","b":"x y","c":""}`,
		`{ "a" : "1" , "b":"2" }`, "{\n\t\"a\":\"ü€\"\r\n}",
		`{"preserved.heart.beat.interval":"5000","k":"v/w=x&y"}`,
	}
	for _, s := range taken {
		got, ok := flatJSON(s)
		if !ok {
			t.Errorf("flatJSON(%q) not taken, want taken", s)
			continue
		}
		want, err := decodeJSONObject("metadata", s)
		if err != nil || !maps.Equal(got, want) {
			t.Errorf("flatJSON(%q) = %q, want %q (err %v)", s, got, want, err)
		}
	}
	left := []string{
		``, `{`, `{"a"}`, `{"a":}`, `{"a":"1",}`, `{"a":"1"} x`, `{"a":"1""b":"2"}`,
		`{"a\"b":"1"}`, `{"a":"\u0041"}`, `{"a":1}`, `{"a":true}`, `{"a":null}`,
		`{"a":{"b":"c"}}`, `{"a":["b"]}`, "{\"a\":\"\x01\"}", `["a"]`, `{'a':'b'}`,
		`{"a":"1"   ,   "b":"2"          }`,                                     // more white space than the bound
		`{"a":"` + strings.Repeat("x", 100) + `","a":"y"}`,                      // a repeated key's padding
		`{` + strings.Repeat(`"k":"v",`, 3) + manyKeys(MaxMetadataKeys+1) + `}`, // too many keys
	}
	for _, s := range left {
		if got, ok := flatJSON(s); ok {
			t.Errorf("flatJSON(%q) = %q, taken; want left to encoding/json", s, got)
		}
	}
}

// manyKeys is n distinct pairs, comma-separated.
func manyKeys(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"k` + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + string(rune('a'+i/26)) + `":"v"`)
	}
	return b.String()
}

// FuzzFlatJSON checks that whatever the fast path takes, encoding/json
// decodes to the same map.
func FuzzFlatJSON(f *testing.F) {
	f.Add(`{"a":"1","b":"2"}`)
	f.Add(`{ "a" : "x y" }`)
	f.Add(`{"a":"1","a":"2"}`)
	f.Add(`{"a":1}`)
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		got, ok := flatJSON(s)
		if !ok {
			return
		}
		want, err := decodeJSONObject("metadata", s)
		if err != nil {
			t.Fatalf("flatJSON(%q) = %q, but encoding/json refuses it: %v", s, got, err)
		}
		if !maps.Equal(got, want) {
			t.Fatalf("flatJSON(%q) = %q, want %q", s, got, want)
		}
	})
}

// BenchmarkMetadataJSON measures decoding the metadata Nacos clients
// send: go test -run '^$' -bench MetadataJSON -benchmem ./internal/param/
func BenchmarkMetadataJSON(b *testing.B) {
	const s = `{"zone":"a","preserved.heart.beat.interval":"5000","version":"1.2.3"}`
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := metadataJSON("metadata", s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeJSONObject("metadata", s); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestMetadata_allocations checks that the common JSON metadata is
// decoded and checked in two allocations (the map and its first bucket).
func TestMetadata_allocations(t *testing.T) {
	const s = `{"zone":"a","preserved.heart.beat.interval":"5000","version":"1.2.3"}`
	if allocs := testing.AllocsPerRun(100, func() { _, _ = Metadata("metadata", s) }); allocs > 2 {
		t.Errorf("%.0f allocations per decoding, want at most 2", allocs)
	}
}
