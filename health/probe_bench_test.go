//go:build linux

package health

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// processCPU is the user plus system CPU this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// timeWait is the number of TCP sockets in TIME_WAIT towards port on
// this machine (IPv4).
func timeWait(port int) float64 { return float64(socketsIn("06", port)) }

// socketsIn is the number of this machine's IPv4 TCP sockets in state st
// (as /proc/net/tcp writes it: 02 SYN_SENT, 06 TIME_WAIT) towards port,
// or -1 when the table cannot be read.
func socketsIn(st string, port int) int {
	data, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return -1
	}
	n, want := 0, fmt.Sprintf(":%04X", port)
	for _, line := range strings.Split(string(data), "\n") {
		// sl local_address rem_address st ...
		if f := strings.Fields(line); len(f) > 3 && f[3] == st && strings.HasSuffix(f[2], want) {
			n++
		}
	}
	return n
}

// BenchmarkTCPCheck is one TCP check's connection to a target in a
// process of its own that serves as a service does (accepts, reads until
// the peer closes). It compares the net package's dial and close (with
// and without keep-alive, which sets four socket options), the same
// closed with a reset, and the checker's own tcpCheck. It reports the
// checker's CPU per check (cpu-µs/op: this process alone) apart from the
// target's (target-cpu-µs/op), and the TIME_WAIT sockets the checks left
// behind (time-wait: towards the target's port at the end of the run;
// Linux reuses a TIME_WAIT socket's port for a new connection to the same
// address, which bounds their number here, as 10,000 distinct targets
// would not). On loopback
// the kernel's work for both ends of the handshake mostly runs in the
// context of the process that sends, so the checker's figure includes
// some of what a remote target's host would pay.
func BenchmarkTCPCheck(b *testing.B) {
	tp := startTarget(b)
	ap := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(tp.port))
	addr := ap.String()
	netDial := func(d *net.Dialer, reset bool) func() error {
		return func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			c, err := d.DialContext(ctx, "tcp", addr)
			if err != nil {
				return err
			}
			if reset {
				_ = c.(*net.TCPConn).SetLinger(0)
			}
			return c.Close()
		}
	}
	for _, bc := range []struct {
		name  string
		check func() error
	}{
		{"net,keepalive", netDial(&net.Dialer{}, false)},
		{"net", netDial(&net.Dialer{KeepAlive: -1}, false)},
		{"net,reset", netDial(&net.Dialer{KeepAlive: -1}, true)},
		{"tcpCheck,fin", func() error { return checkConn(context.Background(), ap, time.Now().Add(2*time.Second), false) }},
		{"tcpCheck", func() error { return tcpCheck(context.Background(), ap, time.Now().Add(2*time.Second)) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu0, tcpu0 := processCPU(), tp.cpu(b)
			for b.Loop() {
				if err := bc.check(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(processCPU()-cpu0)/1e3/float64(b.N), "cpu-µs/op")
			b.ReportMetric(float64(tp.cpu(b)-tcpu0)/1e3/float64(b.N), "target-cpu-µs/op")
			b.ReportMetric(timeWait(tp.port), "time-wait")
		})
	}
}
