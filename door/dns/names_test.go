package dns

import (
	"testing"

	"github.com/roster-io/roster/store"
)

func TestParseName(t *testing.T) {
	def := func(s string) store.Key { return store.Key{Namespace: "public", Group: "DEFAULT_GROUP", Service: s} }
	cases := []struct {
		name string
		want query
	}{
		{"roster.", query{kind: kindApex}},
		{"ROSTER.", query{kind: kindApex}},
		{"web.service.roster.", query{kind: kindService, key: def("web")}},
		{"a.b.c.service.roster.", query{kind: kindService, key: def("a.b.c")}},
		{"_web._tcp.service.roster.", query{kind: kindService, key: def("web")}},
		{"_web._sctp.service.roster.", query{kind: kindService, key: def("_web._sctp")}},
		{"web.g.ns.roster.", query{kind: kindService, key: store.Key{Namespace: "ns", Group: "g", Service: "web"}}},
		{`x\.y.g\058h.n\ s.roster.`, query{kind: kindService, key: store.Key{Namespace: "n s", Group: "g:h", Service: "x.y"}}},
		{"0a000001.addr.roster.", query{kind: kindAddr}},
		{"20010db8000000000000000000000001.addr.roster.", query{kind: kindAddr}},
		{"0a0000.addr.roster.", query{}},
		{"zz000001.addr.roster.", query{}},
		{"web.roster.", query{}},
		{"g.ns.roster.", query{}},
	}
	for _, c := range cases {
		got := parseName(c.name, "roster.")
		if got.kind != c.want.kind || (c.want.kind == kindService && got.key != c.want.key) {
			t.Errorf("parseName(%q) = %+v; want %+v", c.name, got, c.want)
		}
	}
	if got := parseName("0a000001.addr.roster.", "roster."); got.addr.String() != "10.0.0.1" {
		t.Errorf("addr name: %v; want 10.0.0.1", got.addr)
	}
	if got := parseName("web.service.dc1.example.", "dc1.example."); got.kind != kindService || got.key != def("web") {
		t.Errorf("two-label domain: %+v", got)
	}
}

func TestUnescapeLabel(t *testing.T) {
	for in, want := range map[string]string{
		`plain`: "plain", `a\.b`: "a.b", `a\046b`: "a.b", `\058x`: ":x", `\\`: `\`, `end\`: `end\`, `\999`: "999",
	} {
		if got := unescapeLabel(in); got != want {
			t.Errorf("unescapeLabel(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestSRVWeight(t *testing.T) {
	for w, want := range map[float64]uint16{0.001: 1, 0.5: 50, 1: 100, 2.5: 250, 655.35: 65535, 10000: 65535} {
		if got := srvWeight(w); got != want {
			t.Errorf("srvWeight(%v) = %d; want %d", w, got, want)
		}
	}
}
