//go:build linux

package health

import (
	"container/heap"
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/roster-io/roster/internal/await"
	"github.com/roster-io/roster/store"
)

func addrPort(t *testing.T, a net.Addr) netip.AddrPort {
	t.Helper()
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		t.Fatal(err)
	}
	return ap
}

// TestTCPCheck_acceptedThenReset: a check succeeds once the target's
// kernel accepted the connection, and closes it with a reset: the
// service sees ECONNRESET, not a FIN, and no TIME_WAIT socket is left
// towards its port. A closed port fails the check with the refusal.
func TestTCPCheck_acceptedThenReset(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ap := addrPort(t, ln.Addr())
	for range 20 {
		if err := tcpCheck(context.Background(), ap, time.Now().Add(5*time.Second)); err != nil {
			t.Fatalf("check of an open port: %v", err)
		}
	}
	c, err := ln.Accept() // the first check's connection, queued by the kernel
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("the service read %v from a check's connection, want a reset (ECONNRESET)", err)
	}
	c.Close()
	if n := timeWait(int(ap.Port())); n != 0 {
		t.Fatalf("%v TIME_WAIT sockets towards the port after 20 checks", n)
	}
	ln.Close()
	err = tcpCheck(context.Background(), ap, time.Now().Add(5*time.Second))
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("check of a closed port: %v, want connection refused", err)
	}
}

// fullListener is a listening socket with a backlog of 0 whose one
// queue place is taken: the kernel drops further SYNs, so a connection
// to it stays in its handshake.
func fullListener(t *testing.T) netip.AddrPort {
	ap, _ := fullListenerFD(t)
	return ap
}

// fullListenerFD is fullListener, with its listening socket.
func fullListenerFD(t *testing.T) (netip.AddrPort, int) {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	ap := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(sa.(*syscall.SockaddrInet4).Port))
	// Fill the queue: connections that complete stay open; the first
	// that does not shows it is full.
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp", ap.String(), 300*time.Millisecond)
		if err != nil {
			break
		}
		t.Cleanup(func() { c.Close() })
		if i > 8 {
			t.Skip("the kernel keeps accepting connections into a backlog of 0")
		}
	}
	return ap, fd
}

// TestTCPCheck_pendingHandshakeEndsAtDeadlineOrStop: a handshake that
// does not complete fails the check at its deadline, and ends at once
// when the checker stops (ctx).
func TestTCPCheck_pendingHandshakeEndsAtDeadlineOrStop(t *testing.T) {
	ap := fullListener(t)
	begin := time.Now()
	err := tcpCheck(context.Background(), ap, time.Now().Add(300*time.Millisecond))
	el := time.Since(begin)
	if err == nil || el < 250*time.Millisecond || el > 3*time.Second {
		t.Fatalf("check of a target that never completes the handshake: %v after %v, want a timeout after 300 ms", err, el)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	begin = time.Now()
	go func() { done <- tcpCheck(ctx, ap, time.Now().Add(time.Minute)) }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("check ended by its context: %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("check still running %v after its context ended", time.Since(begin))
	}
}

// TestChecker_hostnameTargetIsChecked: an instance registered by
// hostname is checked through the resolver, and turns unhealthy when its
// port closes.
func TestChecker_hostnameTargetIsChecked(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	core, _, ik, checks := setup(t, net.JoinHostPort("localhost", port), nil, nil)
	await.True(t, 5*time.Second, "checks run", func() bool { return checks.Load() >= 3 })
	if !healthy(core, ik) {
		t.Fatal("an instance on localhost whose port is open turned unhealthy")
	}
	ln.Close()
	await.True(t, 5*time.Second, "unhealthy after the port closed", func() bool { return !healthy(core, ik) })
}

// synSent is the number of this machine's IPv4 sockets in SYN_SENT
// towards port.
func synSent(port int) int { return socketsIn("02", port) }

// TestChecker_slowHandshakeFailsAtTimeoutAndStopClosesIt: a target whose
// handshake does not end within the check's timeout turns unhealthy (the
// scheduler's second look hands it to a worker, which waits until the
// timeout), and Stop leaves no connection of the checker behind.
func TestChecker_slowHandshakeFailsAtTimeoutAndStopClosesIt(t *testing.T) {
	ap := fullListener(t)
	core, c, ik, checks := setup(t, ap.String(), nil, func(cfg *Config) { cfg.Interval, cfg.Timeout = 100*time.Millisecond, 50*time.Millisecond })
	await.True(t, 10*time.Second, "unhealthy after failed checks", func() bool { return !healthy(core, ik) })
	if n := checks.Load(); n < 3 {
		t.Fatalf("unhealthy after %d checks, want 3", n)
	}
	c.Stop()
	await.True(t, 5*time.Second, "no check connection left after Stop", func() bool { return synSent(int(ap.Port())) == 0 })
}

// TestPoller_handshakeThatEndsLaterIsOK: a connection still in its
// handshake waits in the poller, and is a good check once the target
// completes the handshake (here when the target accepts the connection
// that filled its queue, and the kernel answers the client's SYN
// retransmission, about a second later).
func TestPoller_handshakeThatEndsLaterIsOK(t *testing.T) {
	ap, lfd := fullListenerFD(t)
	results, stop := make(chan result, 1), make(chan struct{})
	p, err := newPoller(results, stop)
	if err != nil {
		t.Fatal(err)
	}
	running := make(chan struct{})
	go func() { defer close(running); p.run() }()
	defer func() { close(stop); p.wake(); <-running }()
	conn, done, err := startConn(ap, true)
	if !done {
		done, err = conn.ended()
	}
	if done {
		t.Fatalf("the handshake with a full queue ended at once: %v", err)
	}
	tg := &target{}
	if err := p.add(&pendingConn{t: tg, addr: ap.String(), conn: conn, start: time.Now(), deadline: time.Now().Add(20 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	if nfd, _, err := syscall.Accept(lfd); err != nil { // frees the queue's place
		t.Fatal(err)
	} else {
		defer syscall.Close(nfd)
	}
	select {
	case r := <-results:
		if !r.ok || r.t != tg {
			t.Fatalf("result %+v, want ok for the target", r)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no result within 15 s of the queue's place freeing")
	}
	p.mu.Lock()
	n := len(p.conns)
	p.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d connections still pending", n)
	}
}

// TestChecker_silentTargetsDoNotHoldUpOthers: targets whose handshake
// never ends wait in the poller, not in a worker, so with far more of
// them than workers the other targets are still checked on time: an
// instance whose port closes turns unhealthy within failures ×
// interval plus slack. (With a worker per waiting check, 2 workers and a
// 500 ms timeout would check 4 targets a second, and the closed port's
// instance would wait some 10 s for each check.)
func TestChecker_silentTargetsDoNotHoldUpOthers(t *testing.T) {
	silent := fullListener(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	core, _, ik, checks := setup(t, ln.Addr().String(), nil, func(cfg *Config) {
		cfg.Workers, cfg.Interval, cfg.Timeout = 2, 500*time.Millisecond, 500*time.Millisecond
	})
	for i := range 40 {
		in := store.Instance{InstanceKey: store.InstanceKey{Cluster: "SILENT", IP: "127.0.0.1", Port: 1 + i}, Weight: 1, Healthy: true, Enabled: true}
		if _, err := core.st.Register(svc, in); err != nil {
			t.Fatal(err)
		}
	}
	ci := store.ClusterInfo{HealthChecker: store.HealthChecker{Type: store.CheckTCP}, CheckPort: int(silent.Port())}
	if _, err := core.st.UpdateService(svc, func(s *store.ServiceInfo) {
		s.Clusters = map[string]store.ClusterInfo{"SILENT": ci, "DEFAULT": {HealthChecker: store.HealthChecker{Type: store.CheckTCP}, UseInstancePort: true}}
	}); err != nil {
		t.Fatal(err)
	}
	await.True(t, 10*time.Second, "the silent targets checked", func() bool { return checks.Load() >= 100 })
	if !healthy(core, ik) {
		t.Fatal("the instance whose port is open turned unhealthy")
	}
	ln.Close()
	closed := time.Now()
	await.True(t, 6*time.Second, "unhealthy after its port closed, among 40 silent targets", func() bool { return !healthy(core, ik) })
	t.Logf("unhealthy %v after the port closed", time.Since(closed).Round(time.Millisecond))
}

// TestChecker_localErrorsCountTowardNoVerdict: a check this node could
// not make (no file descriptor, no local port) says nothing of the
// target: it turns no instance unhealthy, however often it happens, and
// is counted apart; a refusal is the target's answer.
func TestChecker_localErrorsCountTowardNoVerdict(t *testing.T) {
	for _, tc := range []struct {
		err   error
		local bool
	}{
		{os.NewSyscallError("socket", syscall.EMFILE), true},
		{os.NewSyscallError("connect", syscall.EADDRNOTAVAIL), true},
		{os.NewSyscallError("connect", syscall.ECONNREFUSED), false},
		{os.NewSyscallError("connect", syscall.ETIMEDOUT), false},
	} {
		if got := localError(tc.err); got != tc.local {
			t.Errorf("localError(%v) = %v, want %v", tc.err, got, tc.local)
		}
	}
	st, err := store.New(store.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	ik := store.InstanceKey{Cluster: "DEFAULT", IP: "127.0.0.1", Port: 9}
	if _, err := st.Register(svc, store.Instance{InstanceKey: ik, Weight: 1, Healthy: true, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	core := &fakeCore{st: st}
	core.owned.Store(true)
	c, err := New(DefaultConfig(), core) // not started: the test calls apply as the scheduler would
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	c.rescan()
	tg := c.targets[id{svc, ik}]
	if tg == nil {
		t.Fatal("the instance is not a target")
	}
	heap.Remove(&c.queue, tg.index)
	for range 10 {
		c.apply(result{t: tg, err: os.NewSyscallError("socket", syscall.EMFILE), local: true})
		heap.Remove(&c.queue, tg.index)
	}
	if !healthy(core, ik) || tg.fails != 0 {
		t.Fatalf("after 10 local errors: healthy %v, %d failures counted", healthy(core, ik), tg.fails)
	}
	var m dto.Metric
	_ = c.metrics.skipped.Write(&m)
	if got := m.GetCounter().GetValue(); got != 10 {
		t.Fatalf("roster_health_checks_skipped_total = %v, want 10", got)
	}
	for range 3 {
		c.apply(result{t: tg, err: os.NewSyscallError("connect", syscall.ECONNREFUSED)})
		heap.Remove(&c.queue, tg.index)
	}
	if healthy(core, ik) {
		t.Fatal("3 refusals did not turn the instance unhealthy")
	}
}
