package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/roster-io/roster/agent"
)

// TestAgent_doorFlags checks the DNS and Consul flags, their defaults and
// their usage errors.
func TestAgent_doorFlags(t *testing.T) {
	clearRosterEnv(t)
	cfg, _, res := parseAgentFlags(t)
	def := agent.DefaultDoors()
	if res.code != 0 || cfg.Doors != def || cfg.DNSAddr != "" || cfg.ConsulHTTPAddr != "" {
		t.Fatalf("defaults: exit %d, %+v; want %+v (both off)", res.code, cfg.Doors, def)
	}
	t.Setenv("ROSTER_DNS_TTL", "30s")
	cfg, _, res = parseAgentFlags(t, "--dns", "127.0.0.1:8600", "--dns-domain", "corp.", "--consul-http", "127.0.0.1:8500",
		"--consul-datacenter", "east")
	want := agent.Doors{DNSAddr: "127.0.0.1:8600", DNSDomain: "corp.", DNSTTL: 30 * time.Second,
		ConsulHTTPAddr: "127.0.0.1:8500", ConsulDatacenter: "east"}
	if res.code != 0 || cfg.Doors != want {
		t.Fatalf("set: exit %d (%s), %+v; want %+v", res.code, res.errOut, cfg.Doors, want)
	}
	for _, bad := range [][]string{{"--dns-ttl", "1500ms"}, {"--dns-ttl", "-1s"}, {"--consul-datacenter", ""}, {"--dns-domain", ""}} {
		if _, _, res = parseAgentFlags(t, bad...); res.code != 2 || !strings.Contains(res.errOut, bad[0]) {
			t.Errorf("%v: exit %d, %q; want usage error naming %s", bad, res.code, res.errOut, bad[0])
		}
	}
}
