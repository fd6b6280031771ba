package health

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// targetEnv makes the test binary a check target instead of running
// tests: see startTarget.
const targetEnv = "ROSTER_HEALTH_TARGET"

func TestMain(m *testing.M) {
	if os.Getenv(targetEnv) != "" {
		serveTarget()
		return
	}
	os.Exit(m.Run())
}

// serveTarget listens on 127.0.0.1, prints its port, and serves as a
// service does: it accepts each connection and reads it until the peer
// closes or resets it. It exits when its stdin closes.
func serveTarget() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	for {
		c, err := ln.Accept()
		if err != nil {
			os.Exit(1)
		}
		go func() {
			_, _ = io.Copy(io.Discard, c)
			c.Close()
		}()
	}
}

// target is a check target in a process of its own, so that its CPU is
// measured apart from the checker's.
type targetProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	port  int
}

// startTarget starts this test binary as a target process; it is stopped
// (by its PID) at the end of the test.
func startTarget(tb testing.TB) *targetProc {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), targetEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tp := &targetProc{cmd: cmd, stdin: stdin}
	tb.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		tb.Fatalf("target process: %v", err)
	}
	if tp.port, err = strconv.Atoi(strings.TrimSpace(line)); err != nil {
		tb.Fatalf("target process printed %q", line)
	}
	return tp
}

// cpu is the user plus system CPU the target process has used, from
// /proc/<pid>/stat (in clock ticks of 10 ms).
func (tp *targetProc) cpu(tb testing.TB) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", tp.cmd.Process.Pid))
	if err != nil {
		tb.Fatal(err)
	}
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+s) * 10 * time.Millisecond
}
