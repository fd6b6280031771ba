package dns_test

import (
	"context"
	"net"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/store"
)

// startDNS starts an agent serving DNS on a free loopback port with a 7 s
// TTL (not the default, so tests see the setting applied).
func startDNS(t testing.TB) *agent.Agent {
	t.Helper()
	return agenttest.Start(t, func(c *agent.Config) {
		c.DNSAddr = "127.0.0.1:0"
		c.DNSTTL = 7 * time.Second
	})
}

// inst describes one instance to register.
type inst struct {
	ip      string
	port    int
	weight  float64
	healthy bool
	enabled bool
}

// up is a healthy, enabled instance of weight 1.
func up(ip string, port int) inst {
	return inst{ip: ip, port: port, weight: 1, healthy: true, enabled: true}
}

// register writes persistent instances of service k through the core.
func register(t testing.TB, a *agent.Agent, k store.Key, ins ...inst) {
	t.Helper()
	for _, in := range ins {
		_, err := a.Node().Register(context.Background(), k, store.Instance{
			InstanceKey: store.InstanceKey{Cluster: store.DefaultCluster, IP: in.ip, Port: in.port},
			Weight:      in.weight, Healthy: in.healthy, Enabled: in.enabled, Ephemeral: false,
		})
		if err != nil {
			t.Fatalf("register %s %s:%d: %v", k, in.ip, in.port, err)
		}
	}
}

// svc is a key in the default namespace and group.
func svc(name string) store.Key {
	return store.Key{Namespace: store.DefaultNamespace, Group: store.DefaultGroup, Service: name}
}

// ask sends one query over network ("udp" or "tcp") with an EDNS0
// buffer of bufsize (0: no EDNS0) and returns the answer.
func ask(t *testing.T, network, addr, name string, qtype uint16, bufsize uint16) *mdns.Msg {
	t.Helper()
	m := new(mdns.Msg)
	m.SetQuestion(name, qtype)
	if bufsize > 0 {
		m.SetEdns0(bufsize, false)
	}
	c := &mdns.Client{Net: network, Timeout: 5 * time.Second, UDPSize: 65535}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s %s %s: %v", network, mdns.TypeToString[qtype], name, err)
	}
	return r
}

// answers returns the records of type rrtype in section rrs.
func answers[T mdns.RR](rrs []mdns.RR) []T {
	var out []T
	for _, rr := range rrs {
		if v, ok := rr.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

// fakeWriter is a ResponseWriter that keeps the answer, as if from a UDP
// or TCP client.
type fakeWriter struct {
	tcp bool
	msg *mdns.Msg
}

func (w *fakeWriter) LocalAddr() net.Addr { return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53} }
func (w *fakeWriter) RemoteAddr() net.Addr {
	if w.tcp {
		return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
	}
	return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
}
func (w *fakeWriter) WriteMsg(m *mdns.Msg) error  { w.msg = m; return nil }
func (w *fakeWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *fakeWriter) Close() error                { return nil }
func (w *fakeWriter) TsigStatus() error           { return nil }
func (w *fakeWriter) TsigTimersOnly(bool)         {}
func (w *fakeWriter) Hijack()                     {}
