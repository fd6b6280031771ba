package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/client"
	"github.com/roster-io/roster/internal/await"
)

// startSoloNode starts a one-node registry (no gossip) on 127.0.0.1.
func startSoloNode(t *testing.T) string {
	t.Helper()
	return agenttest.URL(agenttest.Start(t, func(c *agent.Config) { c.GossipAddr = "" }))
}

// fakeProc is a supervised program that exits when told to.
type fakeProc struct {
	done         chan struct{}
	ignoreSignal bool
	onSignal     func(os.Signal) // runs inside Signal, before any exit

	mu      sync.Mutex // guards the fields below
	code    int
	exited  bool
	signals []os.Signal
	killed  bool
}

func newFakeProc() *fakeProc { return &fakeProc{done: make(chan struct{})} }

func (p *fakeProc) exit(code int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.exited {
		p.exited, p.code = true, code
		close(p.done)
	}
}

func (p *fakeProc) Signal(sig os.Signal) error {
	if p.onSignal != nil {
		p.onSignal(sig)
	}
	p.mu.Lock()
	p.signals = append(p.signals, sig)
	p.mu.Unlock()
	if !p.ignoreSignal {
		p.exit(128 + int(sig.(syscall.Signal)))
	}
	return nil
}

func (p *fakeProc) Kill() error {
	p.mu.Lock()
	p.killed = true
	p.mu.Unlock()
	p.exit(128 + int(syscall.SIGKILL))
	return nil
}

func (p *fakeProc) Done() <-chan struct{} { return p.done }

func (p *fakeProc) ExitCode() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.code
}

// sidecarTest is a sidecar on a solo node with a fake program.
type sidecarTest struct {
	s      *sidecar
	proc   *fakeProc
	sigs   chan os.Signal
	ready  atomic.Bool
	health atomic.Bool
	lister *client.Client
	code   chan int
}

func newSidecarTest(t *testing.T, mutate func(*sidecar)) *sidecarTest {
	t.Helper()
	base := startSoloNode(t)
	cl, err := client.New(client.Config{Addrs: []string{base}})
	if err != nil {
		t.Fatal(err)
	}
	lister, _ := client.New(client.Config{Addrs: []string{base}})
	st := &sidecarTest{proc: newFakeProc(), sigs: make(chan os.Signal, 2), lister: lister, code: make(chan int, 1)}
	st.health.Store(true)
	st.s = &sidecar{client: cl, child: st.proc, signals: st.sigs,
		reg:        client.Registration{InstanceKey: client.InstanceKey{Service: client.Service{Name: "web"}, IP: "127.0.0.1", Port: 8080}},
		ready:      func(context.Context) bool { return st.ready.Load() },
		readyEvery: 10 * time.Millisecond, healthEvery: 10 * time.Millisecond, healthFailures: 3,
		drain: 5 * time.Second, killTimeout: 5 * time.Second, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if mutate != nil {
		mutate(st.s)
	}
	t.Cleanup(func() {
		st.proc.exit(0)
		_ = cl.Close(context.Background())
		_ = lister.Close(context.Background())
	})
	return st
}

func (st *sidecarTest) start() {
	go func() { st.code <- st.s.run(context.Background()) }()
}

// listed returns the instances of "web" on the node.
func (st *sidecarTest) listed(t *testing.T) []client.Instance {
	t.Helper()
	l, err := st.lister.List(context.Background(), client.Query{Service: client.Service{Name: "web"}})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func (st *sidecarTest) exitCode(t *testing.T) int {
	t.Helper()
	select {
	case code := <-st.code:
		return code
	case <-time.After(10 * time.Second):
		t.Fatal("sidecar did not return")
		return -1
	}
}

// TestSidecar_lifecycle: not listed before the port is ready, listed
// after; on SIGTERM the instance is gone before the program gets the
// signal, and the sidecar returns the program's code.
func TestSidecar_lifecycle(t *testing.T) {
	st := newSidecarTest(t, nil)
	var listedAtSignal atomic.Int32
	listedAtSignal.Store(-1)
	st.proc.onSignal = func(os.Signal) { listedAtSignal.Store(int32(len(st.listed(t)))) }
	st.start()
	time.Sleep(200 * time.Millisecond) // 20 probes while the port is closed
	if l := st.listed(t); len(l) != 0 {
		t.Fatalf("listed before ready: %v", l)
	}
	st.ready.Store(true)
	await.True(t, 5*time.Second, "listed once ready", func() bool { return len(st.listed(t)) == 1 })
	st.sigs <- syscall.SIGTERM
	if code := st.exitCode(t); code != 128+int(syscall.SIGTERM) {
		t.Fatalf("exit code: got %d, want %d", code, 128+int(syscall.SIGTERM))
	}
	if n := listedAtSignal.Load(); n != 0 {
		t.Fatalf("instances listed when the program got its signal: got %d, want 0", n)
	}
	if len(st.proc.signals) != 1 || st.proc.signals[0] != syscall.SIGTERM {
		t.Fatalf("signals forwarded: got %v, want [SIGTERM]", st.proc.signals)
	}
}

// TestSidecar_programExits: a program that exits on its own is
// deregistered and its code returned; one that exits before it is ready
// is never registered.
func TestSidecar_programExits(t *testing.T) {
	st := newSidecarTest(t, nil)
	st.ready.Store(true)
	st.start()
	await.True(t, 5*time.Second, "listed", func() bool { return len(st.listed(t)) == 1 })
	st.proc.exit(3)
	if code := st.exitCode(t); code != 3 {
		t.Fatalf("exit code: got %d, want 3", code)
	}
	if l := st.listed(t); len(l) != 0 {
		t.Fatalf("still listed after the program exited: %v", l)
	}

	st2 := newSidecarTest(t, nil)
	st2.start()
	time.Sleep(50 * time.Millisecond)
	st2.proc.exit(7)
	if code := st2.exitCode(t); code != 7 {
		t.Fatalf("exit code before ready: got %d, want 7", code)
	}
	if len(st2.listed(t)) != 0 {
		t.Fatal("registered a program that never became ready")
	}
}

// TestSidecar_killAfterTimeout: a program that ignores the signal is
// killed after the kill timeout.
func TestSidecar_killAfterTimeout(t *testing.T) {
	st := newSidecarTest(t, func(s *sidecar) { s.killTimeout = 100 * time.Millisecond })
	st.proc.ignoreSignal = true
	st.ready.Store(true)
	st.start()
	await.True(t, 5*time.Second, "listed", func() bool { return len(st.listed(t)) == 1 })
	st.sigs <- syscall.SIGINT
	if code := st.exitCode(t); code != 128+int(syscall.SIGKILL) {
		t.Fatalf("exit code: got %d, want %d", code, 128+int(syscall.SIGKILL))
	}
	if !st.proc.killed || len(st.proc.signals) != 1 || st.proc.signals[0] != syscall.SIGINT {
		t.Fatalf("got signals %v killed %v, want SIGINT then a kill", st.proc.signals, st.proc.killed)
	}
}

// TestSidecar_health: failing health checks take the instance out of
// service (disabled, or deregistered) until they pass again.
func TestSidecar_health(t *testing.T) {
	for _, dereg := range []bool{false, true} {
		t.Run(map[bool]string{false: "disable", true: "deregister"}[dereg], func(t *testing.T) {
			var st *sidecarTest
			st = newSidecarTest(t, func(s *sidecar) {
				s.deregister = dereg
				s.health = func(context.Context) bool { return st.health.Load() }
			})
			st.ready.Store(true)
			st.start()
			inService := func() bool {
				l := st.listed(t)
				return len(l) == 1 && l[0].Enabled
			}
			await.True(t, 5*time.Second, "in service", inService)
			st.health.Store(false)
			await.True(t, 5*time.Second, "out of service", func() bool {
				l := st.listed(t)
				if dereg {
					return len(l) == 0
				}
				return len(l) == 1 && !l[0].Enabled
			})
			st.health.Store(true)
			await.True(t, 5*time.Second, "back in service", inService)
			st.sigs <- syscall.SIGTERM
			st.exitCode(t)
		})
	}
}

// TestRun_usage: bad command lines exit 2 and name the mistake.
func TestRun_usage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--service", "s", "--port", "80"}, "missing the program"},
		{[]string{"run", "--port", "80", "--", "true"}, "--service"},
		{[]string{"run", "--service", "s", "--", "true"}, "--port"},
		{[]string{"run", "--service", "s", "--port", "80", "--on-unhealthy", "panic", "--", "true"}, "--on-unhealthy"},
		{[]string{"run", "--service", "s", "--port", "80", "--health-url", "ftp://x", "--", "true"}, "--health-url"},
		{[]string{"run", "--service", "s", "--port", "80", "--addr", "gopher://x", "--", "true"}, "scheme"},
		{[]string{"watch"}, "--service"},
	} {
		r := runCLI(t, tc.args...)
		if r.code != exitUsage || !strings.Contains(r.errOut, tc.want) {
			t.Errorf("%v: got exit %d %q, want 2 naming %q", tc.args, r.code, r.errOut, tc.want)
		}
	}
}

// TestExecProcess_exitCodes: a real program's exit code, or 128+N when
// signal N ended it.
func TestExecProcess_exitCodes(t *testing.T) {
	p, err := startProcess([]string{"sh", "-c", "exit 3"}, nil, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if code := p.ExitCode(); code != 3 {
		t.Fatalf("exit 3: got %d", code)
	}
	p, err = startProcess([]string{"sleep", "30"}, nil, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.ExitCode(); code != 128+int(syscall.SIGTERM) {
		t.Fatalf("SIGTERM: got %d, want %d", code, 128+int(syscall.SIGTERM))
	}
	// A shell's background child gets the signal too: it goes to the
	// whole process group.
	pidFile := filepath.Join(t.TempDir(), "pid")
	p, err = startProcess([]string{"sh", "-c", "sleep 30 & echo $! > " + pidFile + "; wait"}, nil, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var sleepPID int
	await.True(t, 5*time.Second, "pid file", func() bool {
		b, err := os.ReadFile(pidFile)
		sleepPID, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil && sleepPID > 0
	})
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Done():
	case <-time.After(5 * time.Second):
		_ = p.Kill()
		t.Fatal("sh still running 5s after SIGTERM to its group")
	}
	await.True(t, 5*time.Second, "sleep in the group ended", func() bool {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", sleepPID))
		if err != nil {
			return true // gone
		}
		_, rest, _ := strings.Cut(string(b), ") ")
		return strings.HasPrefix(rest, "Z") // a zombie nobody reaped: dead
	})
	if _, err := startProcess([]string{"/nonexistent/program"}, nil, io.Discard, io.Discard); err == nil {
		t.Fatal("starting a missing program: got nil error")
	}
}
