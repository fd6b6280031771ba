package dns_test

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// dig runs Debian's dig (package dnsutils; .ci/run installs it) against
// the server at addr and returns its output.
func dig(t *testing.T, addr string, args ...string) string {
	t.Helper()
	path, err := exec.LookPath("dig")
	if err != nil {
		t.Fatalf("dig is not installed (apt-get install dnsutils; .ci/run does): %v", err)
	}
	host, port, _ := net.SplitHostPort(addr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	all := append([]string{"@" + host, "-p", port, "+time=2", "+tries=1"}, args...)
	out, err := exec.CommandContext(ctx, path, all...).CombinedOutput()
	if err != nil {
		t.Fatalf("dig %s: %v\n%s", strings.Join(all, " "), err, out)
	}
	return string(out)
}

// flagsRE finds the header flags in dig's output.
var flagsRE = regexp.MustCompile(`;; flags: ([a-z ]+);`)

// lines returns the non-empty lines of s, sorted.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	slices.Sort(out)
	return out
}

// TestDig checks the answers with dig: SRV and A records of the healthy,
// enabled instances only, NXDOMAIN for an unknown service, and an answer
// too big for 512 bytes marked tc over UDP and complete over TCP.
func TestDig(t *testing.T) {
	a := startDNS(t)
	register(t, a, svc("web"),
		up("10.9.0.1", 8080),
		inst{ip: "10.9.0.2", port: 8081, weight: 3, healthy: true, enabled: true},
		inst{ip: "10.9.0.3", port: 8082, weight: 1, healthy: false, enabled: true},
		inst{ip: "10.9.0.4", port: 8083, weight: 1, healthy: true, enabled: false},
	)
	var big []inst
	for i := range 60 {
		big = append(big, up(fmt.Sprintf("10.8.0.%d", i+1), 9000))
	}
	register(t, a, svc("big"), big...)
	addr := a.DNSAddr()

	got := lines(dig(t, addr, "+short", "SRV", "web.service.roster."))
	want := []string{"1 100 8080 0a090001.addr.roster.", "1 300 8081 0a090002.addr.roster."}
	if !slices.Equal(got, want) {
		t.Errorf("dig +short SRV web.service.roster.: %q; want %q", got, want)
	}
	got = lines(dig(t, addr, "+short", "A", "web.service.roster."))
	if want := []string{"10.9.0.1", "10.9.0.2"}; !slices.Equal(got, want) {
		t.Errorf("dig +short A web.service.roster.: %q; want %q", got, want)
	}
	if out := dig(t, addr, "A", "nosuch.service.roster."); !strings.Contains(out, "status: NXDOMAIN") {
		t.Errorf("dig A nosuch.service.roster.: want status NXDOMAIN in\n%s", out)
	}
	if out := dig(t, addr, "A", "down.example.org."); !strings.Contains(out, "status: REFUSED") {
		t.Errorf("dig A down.example.org.: want status REFUSED in\n%s", out)
	}
	// +ignore keeps dig from retrying over TCP, so the UDP answer shows.
	out := dig(t, addr, "+noedns", "+ignore", "A", "big.service.roster.")
	if m := flagsRE.FindStringSubmatch(out); m == nil || !slices.Contains(strings.Fields(m[1]), "tc") {
		t.Errorf("dig +noedns +ignore A big.service.roster.: want the tc flag in\n%s", out)
	}
	if n := len(lines(dig(t, addr, "+short", "+tcp", "A", "big.service.roster."))); n != 60 {
		t.Errorf("dig +tcp A big.service.roster.: %d addresses; want 60", n)
	}
	// Without +ignore dig retries a truncated answer over TCP on its own.
	if n := len(lines(dig(t, addr, "+short", "+noedns", "A", "big.service.roster."))); n != 60 {
		t.Errorf("dig +noedns A big.service.roster. (retried over TCP): %d addresses; want 60", n)
	}
}
