package health

import (
	"context"
	"net"
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

// BenchmarkTCPCheckDial is one TCP check's connection (dial and close)
// to a listener in the process, with the default dialer and with
// keep-alive off, which the checker uses: keep-alive setup is four
// setsockopt calls on a connection closed at once. cpu-µs/op is the
// process's CPU per connection, both ends (the listener's included).
func BenchmarkTCPCheckDial(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	addr := ln.Addr().String()
	for _, bc := range []struct {
		name string
		d    *net.Dialer
	}{{"keepalive=default", &net.Dialer{}}, {"keepalive=off", &net.Dialer{KeepAlive: -1}}} {
		b.Run(bc.name, func(b *testing.B) {
			cpu0 := processCPU()
			for b.Loop() {
				c, err := bc.d.DialContext(context.Background(), "tcp", addr)
				if err != nil {
					b.Fatal(err)
				}
				c.Close()
			}
			b.ReportMetric(float64(processCPU()-cpu0)/1e3/float64(b.N), "cpu-µs/op")
		})
	}
}
