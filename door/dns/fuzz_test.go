package dns_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	mdns "github.com/miekg/dns"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/store"
)

// FuzzDNSHandler feeds arbitrary packets to the DNS handler, the way the
// server hands it what unpacks: it must never panic, must answer every
// query with a message that packs, with the question it was asked, and
// over UDP within the client's buffer.
func FuzzDNSHandler(f *testing.F) {
	cfg := agent.DefaultLocalConfig()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.DNSAddr = "127.0.0.1:0"
	a, err := agent.New(cfg) // never started: the handler is driven in-process
	if err != nil {
		f.Fatal(err)
	}
	a.Node().SetStateForTesting(true, false)
	ctx := context.Background()
	for i, k := range []store.Key{
		{Namespace: store.DefaultNamespace, Group: store.DefaultGroup, Service: "web"},
		{Namespace: "dev", Group: "g.x", Service: "com.example.Users"},
	} {
		for p := range 40 {
			in := store.Instance{InstanceKey: store.InstanceKey{Cluster: "DEFAULT", IP: "10.0.0." + string(rune('1'+i)), Port: 1000 + p},
				Weight: 1, Healthy: p%3 != 0, Enabled: p%5 != 0}
			if _, err := a.Node().Register(ctx, k, in); err != nil {
				f.Fatal(err)
			}
		}
	}
	for _, q := range []struct {
		name  string
		qtype uint16
		edns  uint16
	}{
		{"web.service.roster.", mdns.TypeA, 0}, {"web.service.roster.", mdns.TypeSRV, 1232},
		{`com.example.users.g\.x.dev.roster.`, mdns.TypeAAAA, 4096}, {"_web._tcp.service.roster.", mdns.TypeSRV, 0},
		{"0a000001.addr.roster.", mdns.TypeA, 0}, {"roster.", mdns.TypeSOA, 0}, {"example.com.", mdns.TypeANY, 0},
	} {
		m := new(mdns.Msg)
		m.SetQuestion(q.name, q.qtype)
		if q.edns > 0 {
			m.SetEdns0(q.edns, true)
		}
		b, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
		f.Add(b, true)
	}
	srv := a.DNS()
	f.Fuzz(func(t *testing.T, packet []byte, tcp bool) {
		req := new(mdns.Msg)
		if req.Unpack(packet) != nil {
			return // the server drops what does not unpack
		}
		w := &fakeWriter{tcp: tcp}
		srv.ServeDNS(w, req)
		if w.msg == nil {
			t.Fatal("no answer")
		}
		b, err := w.msg.Pack()
		if err != nil {
			t.Fatalf("answer does not pack: %v\n%v", err, w.msg)
		}
		limit := mdns.MaxMsgSize
		if !tcp {
			limit = mdns.MinMsgSize
			if opt := req.IsEdns0(); opt != nil {
				limit = max(mdns.MinMsgSize, min(int(opt.UDPSize()), 4096))
			}
		}
		if len(b) > limit {
			t.Fatalf("answer of %d bytes over a %d-byte limit", len(b), limit)
		}
		if w.msg.Id != req.Id || (len(req.Question) > 0 && (len(w.msg.Question) != 1 || w.msg.Question[0] != req.Question[0])) {
			t.Fatalf("answer %v does not match query %v", w.msg, req)
		}
	})
}
