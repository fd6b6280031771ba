package dns_test

import (
	"fmt"
	"strings"
	"testing"

	mdns "github.com/miekg/dns"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/agent/agenttest"

	"github.com/roster-io/roster/store"
)

// TestDNS_answersOnlyHealthyEnabledInstances registers instances that are
// up, unhealthy, disabled and drained (weight 0) and checks that A, AAAA
// and SRV offer only the ones up, with their ports, weights, the TTL and
// the SRV targets' addresses in the additional section.
func TestDNS_answersOnlyHealthyEnabledInstances(t *testing.T) {
	a := startDNS(t)
	register(t, a, svc("web"),
		up("10.0.0.1", 80),
		inst{ip: "10.0.0.2", port: 81, weight: 1, healthy: false, enabled: true},
		inst{ip: "10.0.0.3", port: 82, weight: 1, healthy: true, enabled: false},
		inst{ip: "10.0.0.4", port: 83, weight: 0, healthy: true, enabled: true},
		inst{ip: "2001:db8::1", port: 84, weight: 2.5, healthy: true, enabled: true},
	)
	addr := a.DNSAddr()
	for _, network := range []string{"udp", "tcp"} {
		r := ask(t, network, addr, "web.service.roster.", mdns.TypeA, 0)
		as := answers[*mdns.A](r.Answer)
		if r.Rcode != mdns.RcodeSuccess || len(as) != 1 || as[0].A.String() != "10.0.0.1" || len(r.Answer) != 1 {
			t.Fatalf("%s A: rcode %s, answer %v; want only 10.0.0.1", network, mdns.RcodeToString[r.Rcode], r.Answer)
		}
		if !r.Authoritative || r.RecursionAvailable || as[0].Hdr.Ttl != 7 {
			t.Errorf("%s A: aa=%v ra=%v ttl=%d; want aa, no ra, ttl 7", network, r.Authoritative, r.RecursionAvailable, as[0].Hdr.Ttl)
		}
	}
	r := ask(t, "udp", addr, "web.service.roster.", mdns.TypeAAAA, 0)
	if aaaa := answers[*mdns.AAAA](r.Answer); len(aaaa) != 1 || aaaa[0].AAAA.String() != "2001:db8::1" {
		t.Fatalf("AAAA: answer %v; want 2001:db8::1", r.Answer)
	}

	r = ask(t, "udp", addr, "web.service.roster.", mdns.TypeSRV, 0)
	srvs := answers[*mdns.SRV](r.Answer)
	got := map[uint16]uint16{} // port → weight
	for _, s := range srvs {
		got[s.Port] = s.Weight
	}
	if len(srvs) != 2 || got[80] != 100 || got[84] != 250 {
		t.Fatalf("SRV: %v; want ports 80 (weight 100) and 84 (weight 250)", r.Answer)
	}
	extra := map[string]string{}
	for _, rr := range r.Extra {
		switch v := rr.(type) {
		case *mdns.A:
			extra[v.Hdr.Name] = v.A.String()
		case *mdns.AAAA:
			extra[v.Hdr.Name] = v.AAAA.String()
		}
	}
	for _, s := range srvs {
		want := map[uint16]string{80: "10.0.0.1", 84: "2001:db8::1"}[s.Port]
		if extra[s.Target] != want {
			t.Errorf("SRV target %s: additional section gives %q; want %s (additional %v)", s.Target, extra[s.Target], want, r.Extra)
		}
		// The target resolves on its own too.
		qt := mdns.TypeA
		if strings.Contains(want, ":") {
			qt = mdns.TypeAAAA
		}
		tr := ask(t, "udp", addr, s.Target, qt, 0)
		if len(tr.Answer) != 1 || !strings.Contains(tr.Answer[0].String(), want) {
			t.Errorf("%s %s: %v; want %s", mdns.TypeToString[qt], s.Target, tr.Answer, want)
		}
	}
}

// TestDNS_names checks the full form, the RFC 2782 form, case-insensitive
// matching, dots in a service name, and an escaped dot in a group name.
func TestDNS_names(t *testing.T) {
	a := startDNS(t)
	register(t, a, store.Key{Namespace: "dev", Group: "orders", Service: "com.example.Users"}, up("10.1.0.1", 8080))
	register(t, a, store.Key{Namespace: "dev", Group: "team.a", Service: "api"}, up("10.1.0.2", 9090))
	register(t, a, svc("Billing"), up("10.1.0.3", 7070))
	addr := a.DNSAddr()
	cases := []struct {
		name  string
		qtype uint16
		want  string
	}{
		{"com.example.Users.orders.dev.roster.", mdns.TypeA, "10.1.0.1"},
		{"COM.example.users.ORDERS.Dev.Roster.", mdns.TypeA, "10.1.0.1"},
		{`api.team\.a.dev.roster.`, mdns.TypeA, "10.1.0.2"},
		{"billing.service.roster.", mdns.TypeA, "10.1.0.3"},
		{"billing.default_group.public.roster.", mdns.TypeA, "10.1.0.3"},
		{"_billing._tcp.service.roster.", mdns.TypeSRV, "7070"},
		{"_api._tcp.team\\046a.dev.roster.", mdns.TypeSRV, "9090"},
	}
	for _, c := range cases {
		r := ask(t, "udp", addr, c.name, c.qtype, 0)
		if r.Rcode != mdns.RcodeSuccess || len(r.Answer) != 1 || !strings.Contains(r.Answer[0].String(), c.want) {
			t.Errorf("%s %s: rcode %s, answer %v; want %s", mdns.TypeToString[c.qtype], c.name,
				mdns.RcodeToString[r.Rcode], r.Answer, c.want)
		}
	}
}

// TestDNS_responseCodes checks NXDOMAIN for unknown services, NODATA
// (NOERROR, empty, with the SOA) for a known service with nothing to
// offer, REFUSED outside the domain, the apex SOA, and SERVFAIL from a
// node that has not synced.
func TestDNS_responseCodes(t *testing.T) {
	a := startDNS(t)
	register(t, a, svc("down"), inst{ip: "10.2.0.1", port: 80, weight: 1, healthy: false, enabled: true})
	register(t, a, svc("up"), up("10.2.0.2", 80))
	addr := a.DNSAddr()
	cases := []struct {
		name    string
		qtype   uint16
		rcode   int
		answers int
		soa     bool
	}{
		{"nosuch.service.roster.", mdns.TypeA, mdns.RcodeNameError, 0, true},
		{"up.nosuchgroup.public.roster.", mdns.TypeA, mdns.RcodeNameError, 0, true},
		{"x.roster.", mdns.TypeA, mdns.RcodeNameError, 0, true},
		{"down.service.roster.", mdns.TypeA, mdns.RcodeSuccess, 0, true},
		{"down.service.roster.", mdns.TypeSRV, mdns.RcodeSuccess, 0, true},
		{"up.service.roster.", mdns.TypeMX, mdns.RcodeSuccess, 0, true},
		{"up.service.roster.", mdns.TypeAAAA, mdns.RcodeSuccess, 0, true},
		{"roster.", mdns.TypeSOA, mdns.RcodeSuccess, 1, false},
		{"example.com.", mdns.TypeA, mdns.RcodeRefused, 0, false},
		{"up.service.roster.example.", mdns.TypeA, mdns.RcodeRefused, 0, false},
	}
	for _, c := range cases {
		r := ask(t, "udp", addr, c.name, c.qtype, 0)
		soa := len(answers[*mdns.SOA](r.Ns)) == 1
		if r.Rcode != c.rcode || len(r.Answer) != c.answers || soa != c.soa {
			t.Errorf("%s %s: rcode %s, %d answers, soa in authority %v; want %s, %d, %v", mdns.TypeToString[c.qtype], c.name,
				mdns.RcodeToString[r.Rcode], len(r.Answer), soa, mdns.RcodeToString[c.rcode], c.answers, c.soa)
		}
	}

	a.Node().SetStateForTesting(false, false)
	r := ask(t, "udp", addr, "up.service.roster.", mdns.TypeA, 0)
	a.Node().SetStateForTesting(true, false)
	if r.Rcode != mdns.RcodeServerFailure || len(r.Answer) != 0 {
		t.Errorf("not synced: rcode %s, answer %v; want SERVFAIL and nothing", mdns.RcodeToString[r.Rcode], r.Answer)
	}
}

// TestDNS_truncation registers 80 instances: over UDP without EDNS0 the
// answer is cut to 512 bytes and marked TC, with EDNS0 it fits 4096
// bytes whole, and TCP carries all of them.
func TestDNS_truncation(t *testing.T) {
	a := startDNS(t)
	var ins []inst
	for i := range 80 {
		ins = append(ins, up(fmt.Sprintf("10.3.%d.%d", i/200, i%200+1), 8000+i))
	}
	register(t, a, svc("big"), ins...)
	addr := a.DNSAddr()

	r := ask(t, "udp", addr, "big.service.roster.", mdns.TypeA, 0)
	r.Compress = true // as it travelled
	if !r.Truncated || len(r.Answer) == 0 || len(r.Answer) >= 80 || r.Len() > 512 {
		t.Fatalf("udp A, no EDNS0: tc=%v, %d answers, %d bytes; want tc, fewer than 80, at most 512 bytes", r.Truncated, len(r.Answer), r.Len())
	}
	r = ask(t, "udp", addr, "big.service.roster.", mdns.TypeA, 4096)
	if r.Truncated || len(r.Answer) != 80 || r.IsEdns0() == nil {
		t.Fatalf("udp A, EDNS0 4096: tc=%v, %d answers, opt %v; want all 80 with an OPT record", r.Truncated, len(r.Answer), r.IsEdns0())
	}
	r = ask(t, "udp", addr, "big.service.roster.", mdns.TypeSRV, 1232)
	r.Compress = true
	if !r.Truncated || r.Len() > 1232 {
		t.Fatalf("udp SRV, EDNS0 1232: tc=%v, %d bytes; want tc within 1232 bytes", r.Truncated, r.Len())
	}
	r = ask(t, "tcp", addr, "big.service.roster.", mdns.TypeSRV, 0)
	if r.Truncated || len(answers[*mdns.SRV](r.Answer)) != 80 || len(answers[*mdns.A](r.Extra)) != 80 {
		t.Fatalf("tcp SRV: tc=%v, %d answers, %d additional; want 80 and 80", r.Truncated, len(r.Answer), len(r.Extra))
	}
}

// TestDNS_shuffles checks that the order of the answer changes between
// queries (20 queries of 6 records all in one order: chance 120^-19).
func TestDNS_shuffles(t *testing.T) {
	a := startDNS(t)
	for i := range 6 {
		register(t, a, svc("mix"), up(fmt.Sprintf("10.4.0.%d", i+1), 80))
	}
	orders := map[string]bool{}
	for range 20 {
		r := ask(t, "udp", a.DNSAddr(), "mix.service.roster.", mdns.TypeA, 0)
		var ips []string
		for _, rr := range answers[*mdns.A](r.Answer) {
			ips = append(ips, rr.A.String())
		}
		if len(ips) != 6 {
			t.Fatalf("A: %v; want 6 addresses", r.Answer)
		}
		orders[strings.Join(ips, ",")] = true
	}
	if len(orders) < 2 {
		t.Fatalf("20 answers came in %d order; want them shuffled", len(orders))
	}
}

// TestDNS_malformedQueries sends what a broken or hostile client might:
// no question, two questions, a response, another opcode, EDNS version
// 1, and class CHAOS; each gets its error code and the server keeps
// answering.
func TestDNS_malformedQueries(t *testing.T) {
	a := startDNS(t)
	register(t, a, svc("ok"), up("10.5.0.1", 80))
	srv := a.DNS()
	base := func() *mdns.Msg { m := new(mdns.Msg); m.SetQuestion("ok.service.roster.", mdns.TypeA); return m }
	cases := []struct {
		what  string
		msg   func() *mdns.Msg
		rcode int
	}{
		{"no question", func() *mdns.Msg { m := base(); m.Question = nil; return m }, mdns.RcodeFormatError},
		{"two questions", func() *mdns.Msg { m := base(); m.Question = append(m.Question, m.Question[0]); return m }, mdns.RcodeFormatError},
		{"a response", func() *mdns.Msg { m := base(); m.Response = true; return m }, mdns.RcodeFormatError},
		{"opcode update", func() *mdns.Msg { m := base(); m.Opcode = mdns.OpcodeUpdate; return m }, mdns.RcodeNotImplemented},
		{"edns version 1", func() *mdns.Msg { m := base(); m.SetEdns0(1232, false); m.IsEdns0().SetVersion(1); return m }, mdns.RcodeBadVers},
		{"class chaos", func() *mdns.Msg { m := base(); m.Question[0].Qclass = mdns.ClassCHAOS; return m }, mdns.RcodeRefused},
	}
	for _, c := range cases {
		w := &fakeWriter{}
		srv.ServeDNS(w, c.msg())
		if w.msg == nil || w.msg.Rcode != c.rcode || len(w.msg.Answer) != 0 {
			t.Errorf("%s: answered %v; want rcode %s and no answer", c.what, w.msg, mdns.RcodeToString[c.rcode])
			continue
		}
		if _, err := w.msg.Pack(); err != nil {
			t.Errorf("%s: the answer does not pack: %v", c.what, err)
		}
	}
	if r := ask(t, "udp", a.DNSAddr(), "ok.service.roster.", mdns.TypeA, 0); len(r.Answer) != 1 {
		t.Fatalf("after the malformed queries: %v; want the instance", r.Answer)
	}
}

// TestDNS_offByDefault checks that the default config serves no DNS.
func TestDNS_offByDefault(t *testing.T) {
	if a := agenttest.Start(t); a.DNS() != nil || a.DNSAddr() != "" {
		t.Fatalf("default config serves DNS on %q", a.DNSAddr())
	}
}

// TestDNS_refusedWithReadACLs checks that an agent whose reads need a
// token refuses to serve DNS, which cannot carry one.
func TestDNS_refusedWithReadACLs(t *testing.T) {
	cfg := agent.DefaultLocalConfig()
	cfg.DNSAddr, cfg.GossipAddr = "127.0.0.1:0", ""
	cfg.ACL.Tokens, cfg.ACL.Read = []string{"t"}, true
	if _, err := agent.New(cfg); err == nil || !strings.Contains(err.Error(), "--acl-read") {
		t.Fatalf("agent.New with --dns and --acl-read: %v; want an error naming --acl-read", err)
	}
	cfg.ACL.Read = false // writes need tokens, reads do not: DNS may serve
	if _, err := agent.New(cfg); err != nil {
		t.Fatalf("agent.New with --dns and write-only ACLs: %v", err)
	}
}
