package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	rc "github.com/roster-io/roster/client"

	"github.com/roster-io/roster/internal/agentproc"
	"github.com/roster-io/roster/internal/await"
)

// The e2e test binary doubles as the program `roster run` supervises: with
// ROSTER_E2E_TESTSERVER=1 it runs testServer instead of the tests.
func TestMain(m *testing.M) {
	if os.Getenv("ROSTER_E2E_TESTSERVER") == "1" {
		os.Exit(testServer())
	}
	code := m.Run()
	agentproc.RemoveBinaries()
	os.Exit(code)
}

// testServer waits TS_DELAY, then serves HTTP on 127.0.0.1:TS_PORT until
// SIGTERM or SIGINT. It writes its PID to TS_PIDFILE and, on the signal,
// the Unix nanosecond time it got it to TS_SIGFILE. It exits by itself
// after 2 minutes in case nobody stops it.
func testServer() int {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	if err := os.WriteFile(os.Getenv("TS_PIDFILE"), []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, "testserver:", err)
		return 1
	}
	delay, _ := time.ParseDuration(os.Getenv("TS_DELAY"))
	select {
	case <-time.After(delay):
	case <-sigs:
		return 0
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+os.Getenv("TS_PORT"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "testserver:", err)
		return 1
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) })}
	go func() { _ = srv.Serve(ln) }()
	select {
	case <-sigs:
		_ = os.WriteFile(os.Getenv("TS_SIGFILE"), []byte(strconv.FormatInt(time.Now().UnixNano(), 10)), 0o600)
	case <-time.After(2 * time.Minute):
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
	return 0
}

// sidecar is one running `roster run` with the test server as its program.
type sidecar struct {
	cmd      *exec.Cmd
	outFile  string // roster run's and the program's output
	waitDone chan struct{}
	port     int
	sigFile  string
	pidFile  string
}

// startSidecar runs `roster run` for service on a free port; the program
// starts listening after delay. Cleanup stops both by PID.
func startSidecar(t *testing.T, service string, addrs []string, delay time.Duration, extra ...string) *sidecar {
	t.Helper()
	dir := t.TempDir()
	s := &sidecar{outFile: filepath.Join(dir, "out"), waitDone: make(chan struct{}), port: freePort(t),
		sigFile: filepath.Join(dir, "signal"), pidFile: filepath.Join(dir, "pid")}
	args := []string{"run", "--service", service, "--ip", "127.0.0.1", "--port", strconv.Itoa(s.port), "--drain", "10s"}
	for _, a := range addrs {
		args = append(args, "--addr", "http://"+a)
	}
	args = append(args, extra...)
	args = append(args, "--", os.Args[0])
	s.cmd = exec.Command(binary(t), args...)
	s.cmd.Env = append(os.Environ(), "ROSTER_E2E_TESTSERVER=1", "TS_PORT="+strconv.Itoa(s.port),
		"TS_DELAY="+delay.String(), "TS_SIGFILE="+s.sigFile, "TS_PIDFILE="+s.pidFile)
	// A file, not a pipe: a SIGKILLed roster run leaves its program
	// running, and Wait would wait for a pipe the program holds open.
	out, err := os.Create(s.outFile)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	s.cmd.Stdout, s.cmd.Stderr = out, out
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.cmd.Wait(); close(s.waitDone) }()
	t.Cleanup(func() {
		select {
		case <-s.waitDone:
		default:
			_ = s.cmd.Process.Kill()
			<-s.waitDone
		}
		// The program runs in its own process group and outlives a
		// SIGKILLed sidecar: stop it by its PID too.
		if b, err := os.ReadFile(s.pidFile); err == nil {
			if pid, err := strconv.Atoi(string(b)); err == nil {
				if p, err := os.FindProcess(pid); err == nil {
					_ = p.Kill()
				}
			}
		}
		if t.Failed() {
			t.Logf("--- roster run output ---\n%s", s.output())
		}
	})
	return s
}

// output returns what roster run and its program printed so far.
func (s *sidecar) output() string {
	b, _ := os.ReadFile(s.outFile)
	return string(b)
}

// portOpen reports whether the program accepts TCP connections.
func (s *sidecar) portOpen() bool {
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", s.port), time.Second)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// nativeList returns the instances of service on the node at addr, or
// an error.
func nativeList(addr, service string) ([]rc.Instance, error) {
	n, err := rc.NewNode(rc.Config{Addrs: []string{addr}})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	l, err := n.List(ctx, rc.Query{Service: rc.Service{Name: service}})
	return l.Instances, err
}

// listedOn reports how many instances of service each agent lists.
func listedOn(t *testing.T, agents []*agent, service string) []int {
	t.Helper()
	n := make([]int, len(agents))
	for i, x := range agents {
		l, err := nativeList(x.http, service)
		if err != nil {
			t.Fatal(err)
		}
		n[i] = len(l)
	}
	return n
}

// TestRun_sidecar is the acceptance run of `roster run` against three
// agents: the instance is not listed before the program's port opens, is
// listed on every node after; on SIGTERM it is gone from every node
// before the program gets the signal, and roster run exits with the
// program's code.
func TestRun_sidecar(t *testing.T) {
	agents := startCluster3(t)
	addrs := []string{agents[0].http, agents[1].http, agents[2].http}
	s := startSidecar(t, "e2e-run", addrs, 2*time.Second)

	// Until the port opens no node may list the instance. List first,
	// then look at the port: if it is still closed, it was closed while
	// the nodes answered.
	checks := 0
	await.True(t, 20*time.Second, "the program's port open", func() bool {
		n := listedOn(t, agents, "e2e-run")
		if s.portOpen() {
			return true
		}
		if n[0]+n[1]+n[2] != 0 {
			t.Fatalf("listed %v before the program's port opened", n)
		}
		checks++
		return false
	})
	if checks < 10 {
		t.Fatalf("only %d checks before the port opened; the test proves nothing", checks)
	}
	opened := time.Now()
	el := await.True(t, 10*time.Second, "listed on every node", func() bool {
		n := listedOn(t, agents, "e2e-run")
		return n[0] == 1 && n[1] == 1 && n[2] == 1
	})
	t.Logf("not listed during %d checks while the port was closed; listed on all 3 nodes %v after it opened (%v)", checks, el, time.Since(opened))

	// SIGTERM: watch every node until the program got its signal.
	type poll struct {
		sent   time.Time
		listed bool
	}
	polls := make([][]poll, len(agents))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i, x := range agents {
		wg.Go(func() {
			for k := 0; k < 5000; k++ {
				select {
				case <-stop:
					return
				default:
				}
				sent := time.Now()
				l, err := nativeList(x.http, "e2e-run")
				if err == nil {
					polls[i] = append(polls[i], poll{sent, len(l) > 0})
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	termAt := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.waitDone:
	case <-time.After(30 * time.Second):
		t.Fatal("roster run did not exit after SIGTERM")
	}
	time.Sleep(100 * time.Millisecond) // a few polls after the signal
	close(stop)
	wg.Wait()
	if code := s.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("roster run exit code: got %d, want the program's 0", code)
	}
	b, err := os.ReadFile(s.sigFile)
	if err != nil {
		t.Fatalf("the program never got a signal: %v", err)
	}
	ns, _ := strconv.ParseInt(string(b), 10, 64)
	signalled := time.Unix(0, ns)
	var lastListed time.Time
	for i, ps := range polls {
		after := 0
		for _, p := range ps {
			if p.sent.After(signalled) {
				after++
				if p.listed {
					t.Fatalf("%s listed the instance %v after the program got its signal", agents[i].name, p.sent.Sub(signalled))
				}
			}
			if p.listed && p.sent.After(lastListed) {
				lastListed = p.sent
			}
		}
		if after == 0 {
			t.Fatalf("no poll of %s after the signal; the check proves nothing", agents[i].name)
		}
	}
	t.Logf("SIGTERM at 0; last seen listed at %v; the program got its signal at %v",
		lastListed.Sub(termAt), signalled.Sub(termAt))
	if !strings.Contains(s.output(), "gone from every node") {
		t.Fatalf("roster run did not confirm the deregistration reached every node:\n%s", s.output())
	}
}

// TestRun_sigkillExpires: after SIGKILL of roster run nothing deregisters
// the instance; it turns unhealthy on every node within its beat timeout
// and is gone within its delete timeout (each + 1 s, plus 1 s for a
// loaded machine).
func TestRun_sigkillExpires(t *testing.T) {
	agents := startCluster3(t)
	addrs := []string{agents[0].http, agents[1].http, agents[2].http}
	const timeout, deleteAfter = 1500 * time.Millisecond, 3000 * time.Millisecond
	s := startSidecar(t, "e2e-kill", addrs, 0, "-m", "preserved.heart.beat.interval=500",
		"-m", "preserved.heart.beat.timeout=1500", "-m", "preserved.ip.delete.timeout=3000")
	await.True(t, 10*time.Second, "listed on every node", func() bool {
		n := listedOn(t, agents, "e2e-kill")
		return n[0] == 1 && n[1] == 1 && n[2] == 1
	})
	time.Sleep(time.Second) // a few beats
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	<-s.waitDone
	if !s.portOpen() {
		t.Fatal("the program died with roster run; the test would not show expiry of a live program")
	}
	unhealthy := await.True(t, timeout+2*time.Second, "unhealthy on every node", func() bool {
		for _, x := range agents {
			l, err := nativeList(x.http, "e2e-kill")
			if err != nil || (len(l) == 1 && l[0].Healthy) {
				return false
			}
		}
		return true
	})
	await.True(t, deleteAfter+2*time.Second, "gone from every node", func() bool {
		n := listedOn(t, agents, "e2e-kill")
		return n[0]+n[1]+n[2] == 0
	})
	t.Logf("after SIGKILL of roster run: unhealthy on every node after %v (timeout %v), gone after %v (delete timeout %v)",
		unhealthy, timeout, time.Since(killed), deleteAfter)
}
