package dns_test

import (
	"context"
	"net"
	"slices"
	"testing"
	"time"
)

// TestDNS_goResolver resolves through Go's own resolver (net.Resolver,
// the pure-Go one) pointed at the door: LookupSRV builds the RFC 2782
// name, and LookupHost asks for A and AAAA.
func TestDNS_goResolver(t *testing.T) {
	a := startDNS(t)
	register(t, a, svc("web"), up("10.6.0.1", 8080), up("2001:db8::6", 8081),
		inst{ip: "10.6.0.2", port: 8082, weight: 1, healthy: false, enabled: true})
	addr := a.DNSAddr()
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cname, srvs, err := r.LookupSRV(ctx, "web", "tcp", "service.roster")
	if err != nil {
		t.Fatalf("LookupSRV: %v", err)
	}
	var ports []int
	for _, s := range srvs {
		ports = append(ports, int(s.Port))
	}
	slices.Sort(ports)
	if cname != "_web._tcp.service.roster." || !slices.Equal(ports, []int{8080, 8081}) {
		t.Fatalf("LookupSRV: %q %v; want ports 8080 and 8081", cname, ports)
	}
	hosts, err := r.LookupHost(ctx, "web.service.roster")
	slices.Sort(hosts)
	if err != nil || !slices.Equal(hosts, []string{"10.6.0.1", "2001:db8::6"}) {
		t.Fatalf("LookupHost: %v, %v; want 10.6.0.1 and 2001:db8::6", hosts, err)
	}
	if _, err := r.LookupHost(ctx, "nosuch.service.roster"); err == nil {
		t.Fatal("LookupHost of an unknown service succeeded")
	} else if de, ok := err.(*net.DNSError); !ok || !de.IsNotFound {
		t.Fatalf("LookupHost of an unknown service: %v; want not found", err)
	}
}
