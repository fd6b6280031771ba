package bench

import (
	"strings"
	"testing"

	"github.com/roster-io/roster/peer"
)

// metricsPage is a /metrics page with every series the scale mode needs,
// and the owed gauge when owed is not empty.
func metricsPage(owed string) string {
	var b strings.Builder
	for k := range metricKeys {
		b.WriteString(k + " 1\n")
	}
	if owed != "" {
		b.WriteString("# TYPE roster_heard_reports_owed gauge\n" + owedKey + " " + owed + "\n")
	}
	return b.String()
}

// TestParseCounters_withoutPingBytes: an agent of a build that does not
// count its stream pings still gives its counters (the pings as 0).
func TestParseCounters_withoutPingBytes(t *testing.T) {
	var b strings.Builder
	for k := range metricKeys {
		if k != pingKey {
			b.WriteString(k + " 2\n")
		}
	}
	c, err := parseCounters(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if c.v[cPingBytes] != 0 || c.v[cGossipSent] != 2 {
		t.Errorf("ping bytes %v, gossip sent %v; want 0 and 2", c.v[cPingBytes], c.v[cGossipSent])
	}
	if _, err := parseCounters(strings.NewReader("roster_peer_stream_ping_bytes_total 5\n")); err == nil {
		t.Error("a page with none of the byte counters parsed")
	}
}

// TestParseCounters_owedGauge: the settle wait reads how many members a
// node still owes its last-heard report, and tells an agent that does
// not export the gauge (-1) from one that owes none.
func TestParseCounters_owedGauge(t *testing.T) {
	for _, c := range []struct {
		page string
		want float64
	}{{metricsPage("7"), 7}, {metricsPage("0"), 0}, {metricsPage(""), -1}} {
		got, err := parseCounters(strings.NewReader(c.page))
		if err != nil {
			t.Fatal(err)
		}
		if got.owed != c.want {
			t.Errorf("owed %v, want %v", got.owed, c.want)
		}
		if got.v[cReq+int(peer.KindHeard)] != 1 {
			t.Errorf("the heard requests counter is %v, want 1", got.v[cReq+int(peer.KindHeard)])
		}
	}
}
