package nacos_test

// Expiry (scenario 4). nacos-sdk-go v1.1.4 has no CloseClient and its beat
// goroutines cannot be stopped without deregistering, so the instance is
// registered by a child process (this test binary re-executed with childEnv
// set) that the test SIGKILLs by PID: its beats stop dead, as when a real
// service crashes.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nacos-group/nacos-sdk-go/clients"
	"github.com/nacos-group/nacos-sdk-go/common/constant"
	"github.com/nacos-group/nacos-sdk-go/vo"

	"github.com/roster-io/roster/internal/await"
)

// childEnv, when set, makes the test binary run runChild instead of tests.
// Its value is a JSON childSpec.
const childEnv = "ROSTER_NACOS_COMPAT_CHILD"

// childSpec tells the child what to register.
type childSpec struct {
	ServerPort int    `json:"serverPort"`
	Service    string `json:"service"`
	IP         string `json:"ip"`
	Port       uint64 `json:"port"`
	Dir        string `json:"dir"`
}

// runChild registers one instance with short timings, prints "registered",
// and then keeps beating until stdin closes (the parent died) or a safety
// limit passes. The parent normally SIGKILLs it first.
func runChild() int {
	var spec childSpec
	if err := json.Unmarshal([]byte(os.Getenv(childEnv)), &spec); err != nil {
		fmt.Fprintln(os.Stderr, "child: bad spec:", err)
		return 2
	}
	cc, sc := clientConfig(spec.ServerPort, "", spec.Dir)
	c, err := clients.NewNamingClient(vo.NacosClientParam{ClientConfig: &cc, ServerConfigs: sc})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child: NewNamingClient:", err)
		return 1
	}
	ok, err := c.RegisterInstance(vo.RegisterInstanceParam{Ip: spec.IP, Port: spec.Port, Weight: 1,
		Enable: true, Healthy: true, Ephemeral: true, Metadata: timings(), ServiceName: spec.Service})
	if err != nil || !ok {
		fmt.Fprintf(os.Stderr, "child: RegisterInstance: (%v, %v)\n", ok, err)
		return 1
	}
	fmt.Println("registered")
	eof := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(eof)
	}()
	select {
	case <-eof:
	case <-time.After(2 * time.Minute):
	}
	return 0
}

// child is a running registering child process.
type child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *syncBuffer
	lines  chan string   // stdout lines
	done   chan struct{} // closed after Wait returned
}

func startChild(t *testing.T, spec childSpec) *child {
	t.Helper()
	b, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	ch := &child{stderr: &syncBuffer{}, lines: make(chan string, 16), done: make(chan struct{})}
	ch.cmd = exec.Command(os.Args[0], "-test.run=^$")
	ch.cmd.Env = append(os.Environ(), childEnv+"="+string(b))
	ch.cmd.Stderr = ch.stderr
	if ch.stdin, err = ch.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := ch.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.cmd.Start(); err != nil {
		t.Fatalf("start child: %v", err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case ch.lines <- sc.Text():
			default:
			}
		}
		_ = ch.cmd.Wait()
		close(ch.done)
	}()
	t.Cleanup(func() {
		ch.stdin.Close()
		ch.kill()
		if t.Failed() {
			t.Logf("child stderr:\n%s", ch.stderr)
		}
	})
	return ch
}

// kill SIGKILLs the child by its PID and waits for it.
func (ch *child) kill() {
	select {
	case <-ch.done:
		return
	default:
	}
	_ = ch.cmd.Process.Kill()
	<-ch.done
}

// waitLine waits for the child to print want.
func (ch *child) waitLine(t *testing.T, want string, timeout time.Duration) {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case l := <-ch.lines:
			if strings.TrimSpace(l) == want {
				return
			}
		case <-ch.done:
			t.Fatalf("child exited before printing %q: %v\n%s", want, ch.cmd.ProcessState, ch.stderr)
		case <-timer.C:
			t.Fatalf("child did not print %q within %v\n%s", want, timeout, ch.stderr)
		}
	}
}

// TestExpiry kills a beating client and wants its instance unhealthy within
// the heartbeat timeout + 1 s and gone within the delete timeout + 1 s, and
// neither much earlier than its metadata allows.
func TestExpiry(t *testing.T) {
	t.Parallel()
	a := server(t)
	dir, err := os.MkdirTemp(workDir, "child-")
	if err != nil {
		t.Fatal(err)
	}
	spec := childSpec{ServerPort: a.port, Service: uniqueName("expiry"), IP: "10.10.4.1", Port: 5001, Dir: dir}
	grouped := constant.DEFAULT_GROUP + constant.SERVICE_INFO_SPLITER + spec.Service
	tg := target{grouped: grouped, ip: spec.IP, port: int(spec.Port)}

	// A healthy companion in the same service keeps the healthy share above
	// the default protect threshold (0): with every instance unhealthy,
	// instance/list would, like Nacos, report them all healthy.
	c := newClient(t, a, "")
	companion := vo.RegisterInstanceParam{Ip: "10.10.4.2", Port: 5002, Weight: 1, Enable: true, Healthy: true,
		Ephemeral: true, Metadata: timings(), ServiceName: spec.Service}
	register(t, c, companion)

	ch := startChild(t, spec)
	ch.waitLine(t, "registered", 30*time.Second)

	// Its beats must hold it healthy past one timeout before the kill, so
	// that what follows is due to the kill.
	end := time.Now().Add(beatTimeoutMs*time.Millisecond + 500*time.Millisecond)
	for time.Now().Before(end) {
		got, ok, desc, err := a.instance(tg)
		if err != nil || !ok || !got.Healthy {
			t.Fatalf("before kill: want healthy; %s (err %v)", desc, err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	ch.kill()
	killed := time.Now()
	// The last beat left about one interval before the kill; allow slack
	// for slow beat requests.
	earliest := func(timeoutMs int) time.Duration {
		return time.Duration(timeoutMs-beatIntervalMs)*time.Millisecond - 500*time.Millisecond
	}

	await.Explain(t, beatTimeoutMs*time.Millisecond+time.Second, "unhealthy after kill", func() (bool, string) {
		got, ok, desc, err := a.instance(tg)
		if err != nil || !ok {
			t.Fatalf("instance gone or unreadable before it was seen unhealthy: %s (err %v)", desc, err)
		}
		return !got.Healthy, desc
	})
	if el := time.Since(killed); el < earliest(beatTimeoutMs) {
		t.Errorf("unhealthy %v after kill, want no earlier than %v (timeout %d ms from metadata)", el, earliest(beatTimeoutMs), beatTimeoutMs)
	} else {
		t.Logf("unhealthy %v after kill", el.Round(time.Millisecond))
	}
	if got, desc, err := a.list("", grouped, ""); err != nil {
		t.Errorf("%s: %v", desc, err)
	} else {
		if h, found := findHost(got.Hosts, spec.IP, int(spec.Port)); found && h.Healthy {
			t.Errorf("instance/list: dead host healthy true, want false (the detail already says unhealthy): %s", desc)
		}
		if h, found := findHost(got.Hosts, companion.Ip, int(companion.Port)); !found || !h.Healthy {
			t.Errorf("instance/list: companion found %v healthy %v, want listed and healthy: %s", found, h.Healthy, desc)
		}
	}

	await.Explain(t, time.Until(killed.Add(deleteTimeoutMs*time.Millisecond+time.Second)), "gone after kill", func() (bool, string) {
		got, desc, err := a.list("", grouped, "")
		_, found := findHost(got.Hosts, spec.IP, int(spec.Port))
		return err == nil && !found, desc
	})
	if el := time.Since(killed); el < earliest(deleteTimeoutMs) {
		t.Errorf("gone %v after kill, want no earlier than %v (delete timeout %d ms from metadata)", el, earliest(deleteTimeoutMs), deleteTimeoutMs)
	} else {
		t.Logf("gone %v after kill", el.Round(time.Millisecond))
	}
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a child
// process's output copier and the reads of the test.
type syncBuffer struct {
	// mu guards b.
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
