package dns_test

import (
	"fmt"
	"testing"

	mdns "github.com/miekg/dns"

	"github.com/roster-io/roster/agent"
)

// BenchmarkServeDNS measures the handler alone (no socket) answering A
// and SRV queries for a service of 10 instances.
func BenchmarkServeDNS(b *testing.B) {
	a := startDNSB(b)
	for _, qt := range []uint16{mdns.TypeA, mdns.TypeSRV} {
		b.Run(mdns.TypeToString[qt], func(b *testing.B) {
			req := new(mdns.Msg)
			req.SetQuestion("web.service.roster.", qt)
			w := &fakeWriter{}
			b.ReportAllocs()
			for b.Loop() {
				a.DNS().ServeDNS(w, req)
			}
			if len(w.msg.Answer) != 10 {
				b.Fatalf("answer %v; want 10 records", w.msg.Answer)
			}
		})
	}
}

// BenchmarkDNSOverUDP measures whole A queries over loopback UDP with
// miekg/dns's client, one at a time: against roster ("roster"), and
// against a bare miekg/dns server that sends a canned answer of the same
// 10 records ("floor"), so the figure reads as a ratio to the floor.
func BenchmarkDNSOverUDP(b *testing.B) {
	a := startDNSB(b)
	req := new(mdns.Msg)
	req.SetQuestion("web.service.roster.", mdns.TypeA)
	canned := new(mdns.Msg)
	canned.SetQuestion("web.service.roster.", mdns.TypeA)
	for i := range 10 {
		rr, _ := mdns.NewRR(fmt.Sprintf("web.service.roster. 5 IN A 10.0.0.%d", i+1))
		canned.Answer = append(canned.Answer, rr)
	}
	floor := &mdns.Server{Addr: "127.0.0.1:0", Net: "udp", Handler: mdns.HandlerFunc(func(w mdns.ResponseWriter, r *mdns.Msg) {
		m := canned.Copy()
		m.SetReply(r)
		m.Answer = canned.Answer
		_ = w.WriteMsg(m)
	})}
	started := make(chan struct{})
	floor.NotifyStartedFunc = func() { close(started) }
	go func() { _ = floor.ListenAndServe() }()
	<-started
	defer floor.Shutdown()
	for _, target := range []struct{ name, addr string }{{"floor", floor.PacketConn.LocalAddr().String()}, {"roster", a.DNSAddr()}} {
		b.Run(target.name, func(b *testing.B) {
			c := &mdns.Client{Net: "udp"}
			conn, err := c.Dial(target.addr)
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			for b.Loop() {
				r, _, err := c.ExchangeWithConn(req, conn)
				if err != nil || len(r.Answer) != 10 {
					b.Fatalf("%v %v", r, err)
				}
			}
		})
	}
}

// startDNSB starts a DNS-serving agent with a service of 10 instances.
func startDNSB(b *testing.B) *agent.Agent {
	b.Helper()
	a := startDNS(b)
	for i := range 10 {
		register(b, a, svc("web"), up(fmt.Sprintf("10.0.0.%d", i+1), 8080))
	}
	return a
}
