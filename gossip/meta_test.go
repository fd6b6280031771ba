package gossip

import (
	"errors"
	"strings"
	"testing"

	"github.com/hashicorp/memberlist"
)

func TestMeta_roundTrip(t *testing.T) {
	tests := []struct {
		name string
		meta Meta
	}{
		{"zero", Meta{}},
		{"typical", Meta{HTTPAddr: "10.0.0.7:8848", Epoch: 1_700_000_000_123_456_789}},
		{"ready", Meta{HTTPAddr: "10.0.0.7:8848", Epoch: 1_700_000_000_123_456_789, Ready: true}},
		{"ipv6", Meta{HTTPAddr: "[fe80::1]:8848", Epoch: 1}},
		{"negative epoch", Meta{HTTPAddr: "x", Epoch: -5}},
		{"longest addr", Meta{HTTPAddr: strings.Repeat("a", 498), Epoch: 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf, err := encodeMeta(tt.meta)
			if err != nil {
				t.Fatalf("encodeMeta: %v", err)
			}
			if len(buf) > memberlist.MetaMaxSize {
				t.Fatalf("got %d bytes, want at most %d", len(buf), memberlist.MetaMaxSize)
			}
			got, err := decodeMeta(buf)
			if err != nil {
				t.Fatalf("decodeMeta: %v", err)
			}
			if got != tt.meta {
				t.Errorf("got %+v, want %+v", got, tt.meta)
			}
		})
	}
}

func TestMeta_typicalSize(t *testing.T) {
	buf, err := encodeMeta(Meta{HTTPAddr: "192.168.100.200:8848", Epoch: 1_700_000_000_123_456_789})
	if err != nil {
		t.Fatal(err)
	}
	if len(buf) > 32 {
		t.Errorf("got %d bytes, want at most 32", len(buf))
	}
}

func TestMeta_tooLong(t *testing.T) {
	_, err := encodeMeta(Meta{HTTPAddr: strings.Repeat("a", memberlist.MetaMaxSize)})
	if err == nil {
		t.Fatal("got nil error, want one")
	}
	if !strings.HasPrefix(err.Error(), "gossip: ") {
		t.Errorf("got %q, want a gossip: prefix", err)
	}
}

func TestMeta_decodeBadInput(t *testing.T) {
	good, _ := encodeMeta(Meta{HTTPAddr: "127.0.0.1:8848", Epoch: 99})
	tests := []struct {
		name    string
		buf     []byte
		wantErr error
	}{
		{"nil", nil, errMetaEmpty},
		{"empty", []byte{}, errMetaEmpty},
		{"unknown version", []byte{2, 0, 0}, nil},
		{"json from a foreign peer", []byte(`{"http":"x"}`), nil},
		{"version only", []byte{metaVersion}, errMetaTruncated},
		{"length past end", []byte{metaVersion, 50, 'a'}, errMetaTruncated},
		{"huge length", []byte{metaVersion, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, errMetaTruncated},
		{"cut addr", good[:5], errMetaTruncated},
		{"no epoch", good[:len(good)-3], errMetaTruncated}, // epoch 99 is 2 varint bytes, then flags
		{"cut epoch", append(good[:len(good)-2:len(good)-2], 0x80), errMetaTruncated},
		{"no flags", good[:len(good)-1], errMetaTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeMeta(tt.buf)
			if err == nil {
				t.Fatalf("got %+v, nil error; want an error", got)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("got %v, want %v", err, tt.wantErr)
			}
			if got != (Meta{}) {
				t.Errorf("got %+v, want zero Meta", got)
			}
		})
	}
}

func TestMeta_trailingBytesIgnored(t *testing.T) {
	want := Meta{HTTPAddr: "h:1", Epoch: 7, Ready: true}
	buf, _ := encodeMeta(want)
	buf[len(buf)-1] |= 0x80                   // a flag from a later release
	buf = append(buf, 0xde, 0xad, 0xbe, 0xef) // a field from a later release
	got, err := decodeMeta(buf)
	if err != nil {
		t.Fatalf("decodeMeta: %v", err)
	}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func FuzzDecodeMeta(f *testing.F) {
	good, _ := encodeMeta(Meta{HTTPAddr: "127.0.0.1:8848", Epoch: 99})
	f.Add(good)
	f.Add([]byte{})
	f.Add([]byte{metaVersion, 0xff})
	f.Fuzz(func(t *testing.T, buf []byte) {
		m, err := decodeMeta(buf)
		if err != nil {
			return
		}
		again, err := encodeMeta(m)
		if err != nil {
			return // decoded from an oversized input
		}
		if m2, err := decodeMeta(again); err != nil || m2 != m {
			t.Errorf("re-decoded %+v, %v; want %+v", m2, err, m)
		}
	})
}
