package agent_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/door/gate"
	"github.com/roster-io/roster/durable"
)

// TestDurable_singleNodeRestartKeepsPersistentState registers persistent
// and ephemeral instances and service settings on a node with a data
// directory, kills it the way SIGKILL would (nothing flushed) and starts
// it again on the same directory: every acknowledged persistent write and
// deletion and every service setting is back; ephemeral instances are
// not (their clients bring them back).
func TestDurable_singleNodeRestartKeepsPersistentState(t *testing.T) {
	dir := t.TempDir()
	solo := func(c *agent.Config) { c.Name, c.GossipAddr, c.DataDir = "solo", "", dir }
	a := agenttest.Start(t, solo)
	base := agenttest.URL(a)
	for s := range 3 {
		svc := fmt.Sprintf("svc-%d", s)
		if code, body := nacos(t, base, http.MethodPost, "service", url.Values{"serviceName": {svc},
			"protectThreshold": {fmt.Sprint(0.1 * float64(s+1))}, "metadata": {"team=t" + fmt.Sprint(s)}}); code != http.StatusOK {
			t.Fatalf("create %s: %d %s", svc, code, body)
		}
		for i := range 10 {
			v := url.Values{"serviceName": {svc}, "ip": {fmt.Sprintf("10.0.%d.%d", s, i)}, "port": {"80"}, "ephemeral": {"false"}}
			if code, body := nacos(t, base, http.MethodPost, "instance", v); code != http.StatusOK {
				t.Fatalf("register: %d %s", code, body)
			}
		}
		v := url.Values{"serviceName": {svc}, "ip": {"10.9.9.9"}, "port": {"80"}, "ephemeral": {"true"}}
		if code, body := nacos(t, base, http.MethodPost, "instance", v); code != http.StatusOK {
			t.Fatalf("register ephemeral: %d %s", code, body)
		}
	}
	for i := range 4 { // delete four persistent instances of svc-0
		v := url.Values{"serviceName": {"svc-0"}, "ip": {fmt.Sprintf("10.0.0.%d", i)}, "port": {"80"}, "ephemeral": {"false"}}
		if code, body := nacos(t, base, http.MethodDelete, "instance", v); code != http.StatusOK {
			t.Fatalf("deregister: %d %s", code, body)
		}
	}
	a.Kill()

	if _, err := agent.New(func() agent.Config {
		c := agent.DefaultLocalConfig()
		c.Name, c.GossipAddr, c.DataDir = "other", "", dir
		return c
	}()); !errors.Is(err, durable.ErrIdentity) {
		t.Fatalf("another node name on the data directory: %v, want refused", err)
	}

	b := agenttest.Start(t, solo)
	base = agenttest.URL(b)
	for s := range 3 {
		svc := fmt.Sprintf("svc-%d", s)
		l := list(t, base, url.Values{"serviceName": {svc}})
		want := 10
		if s == 0 {
			want = 6
		}
		if len(l.Hosts) != want {
			t.Fatalf("%s after restart: %d hosts, want %d: %+v", svc, len(l.Hosts), want, l.Hosts)
		}
		for _, h := range l.Hosts {
			if h.Ephemeral || (s == 0 && h.IP < "10.0.0.4" && len(h.IP) == len("10.0.0.4")) {
				t.Fatalf("%s after restart holds %s (ephemeral %v): it should be gone", svc, h.IP, h.Ephemeral)
			}
		}
		code, body := nacos(t, base, http.MethodGet, "service", url.Values{"serviceName": {svc}})
		var info struct {
			ProtectThreshold float64           `json:"protectThreshold"`
			Metadata         map[string]string `json:"metadata"`
		}
		mustJSON(t, body, &info)
		if code != http.StatusOK || fmt.Sprint(info.ProtectThreshold) != fmt.Sprint(0.1*float64(s+1)) ||
			info.Metadata["team"] != "t"+fmt.Sprint(s) {
			t.Fatalf("%s settings after restart: %d %s", svc, code, body)
		}
	}
}

// TestSnapshot_needsATokenEvenForReads: with ACLs on and reads open, a
// snapshot (which holds the whole durable registry) still needs a token.
func TestSnapshot_needsATokenEvenForReads(t *testing.T) {
	a := agenttest.Start(t, func(c *agent.Config) {
		c.GossipAddr = ""
		c.ACL = gate.ACLConfig{Tokens: []string{"snap-token"}, TokenTTL: gate.DefaultTokenTTL}
	})
	if code, body := do(t, http.MethodGet, agenttest.URL(a)+"/v1/snapshot", "", ""); code != http.StatusUnauthorized {
		t.Fatalf("snapshot without a token: %d %s, want 401", code, body)
	}
	if code, body := do(t, http.MethodGet, agenttest.URL(a)+"/v1/snapshot?accessToken=snap-token", "", ""); code != http.StatusOK ||
		!strings.HasPrefix(body, "ROSTER-SNAPSHOT\n") {
		t.Fatalf("snapshot with the token: %d %.40q", code, body)
	}
	if code, body := do(t, http.MethodPost, agenttest.URL(a)+"/v1/snapshot?accessToken=snap-token", "application/json", `{"snapshot":"AAAA"}`); code != http.StatusBadRequest ||
		!strings.Contains(body, "snapshot") {
		t.Fatalf("restore of garbage: %d %s, want 400 naming the snapshot", code, body)
	}
}
