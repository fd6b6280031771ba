package nacos_test

// Test harness: builds and runs one `roster agent` for the whole test binary,
// and gives tests raw HTTP access to its Nacos v1 API so they can check what
// the server holds, independently of the client's cache.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nacos-group/nacos-sdk-go/model"
)

const (
	// startTimeout bounds how long the agent may take to answer /healthz.
	startTimeout = 10 * time.Second
	// stopTimeout is how long SIGTERM gets before SIGKILL.
	stopTimeout = 10 * time.Second
)

var (
	// workDir holds the binary, client caches and logs; TestMain removes it.
	workDir string

	srvOnce sync.Once
	srv     *agent
	srvErr  error
)

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a child
// process's stdout/stderr copiers and the reads of the test.
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

// agent is a running `roster agent` child process.
type agent struct {
	cmd  *exec.Cmd
	port int
	base string // http://127.0.0.1:port
	out  *syncBuffer
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result, valid after done is closed
}

// server returns the shared agent, building and starting it on first use.
func server(t testing.TB) *agent {
	t.Helper()
	srvOnce.Do(func() { srv, srvErr = startAgent() })
	if srvErr != nil {
		t.Fatalf("start roster agent: %v", srvErr)
	}
	return srv
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// buildRoster builds the roster binary from the repository root, two levels
// above this package, unless $ROSTER_BIN names a prebuilt one; once per
// test binary, however many agents start.
func buildRoster() (string, error) {
	buildOnce.Do(func() { builtBin, buildErr = buildRosterOnce() })
	return builtBin, buildErr
}

func buildRosterOnce() (string, error) {
	if bin := os.Getenv("ROSTER_BIN"); bin != "" {
		return bin, nil
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return "", err
	}
	bin := filepath.Join(workDir, "roster")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build in %s: %w\n%s", root, err, out)
	}
	return bin, nil
}

// freePort returns a loopback port that was free for TCP and, when udp is
// set, also for UDP (memberlist binds both).
func freePort(udp bool) (int, error) {
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		if udp {
			u, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
			if err != nil {
				l.Close()
				continue
			}
			u.Close()
		}
		l.Close()
		return port, nil
	}
	return 0, errors.New("no free port found")
}

// startAgent starts an agent with extra flags, retrying with new ports
// when one it picked was taken before the agent could bind it (other
// tests run in parallel).
func startAgent(extra ...string) (*agent, error) {
	var err error
	for range 5 {
		var a *agent
		if a, err = startAgentOnce(extra...); err == nil || !strings.Contains(err.Error(), "address already in use") {
			return a, err
		}
	}
	return nil, err
}

func startAgentOnce(extra ...string) (*agent, error) {
	bin, err := buildRoster()
	if err != nil {
		return nil, err
	}
	httpPort, err := freePort(false)
	if err != nil {
		return nil, err
	}
	gossipPort, err := freePort(true)
	if err != nil {
		return nil, err
	}
	a := &agent{
		port: httpPort,
		base: "http://127.0.0.1:" + strconv.Itoa(httpPort),
		out:  &syncBuffer{},
		done: make(chan struct{}),
	}
	a.cmd = exec.Command(bin, append([]string{"agent", "--name", "compat",
		"--http", "127.0.0.1:" + strconv.Itoa(httpPort),
		"--gossip", "127.0.0.1:" + strconv.Itoa(gossipPort)}, extra...)...)
	a.cmd.Stdout = a.out
	a.cmd.Stderr = a.out
	if err := a.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() {
		a.err = a.cmd.Wait()
		close(a.done)
	}()

	deadline := time.Now().Add(startTimeout)
	for {
		status, _, err := a.get("/healthz", nil)
		if err == nil && status == http.StatusOK {
			break
		}
		select {
		case <-a.done:
			return nil, fmt.Errorf("agent exited before /healthz answered: %v\n%s", a.err, a.out)
		default:
		}
		if time.Now().After(deadline) {
			a.stop()
			return nil, fmt.Errorf("agent /healthz not 200 within %v (last status %d, err %v)\n%s",
				startTimeout, status, err, a.out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// A single node should be ready at once; tolerate a missing /readyz.
	for {
		status, _, err := a.get("/readyz", nil)
		if err == nil && status != http.StatusServiceUnavailable {
			return a, nil
		}
		if time.Now().After(deadline) {
			a.stop()
			return nil, fmt.Errorf("agent /readyz not ready within %v (last status %d, err %v)\n%s",
				startTimeout, status, err, a.out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop ends the agent by its PID: SIGTERM, then SIGKILL after stopTimeout.
func (a *agent) stop() error {
	select {
	case <-a.done:
		return a.err
	default:
	}
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("sigterm pid %d: %w", a.cmd.Process.Pid, err)
	}
	select {
	case <-a.done:
		if a.err != nil {
			return fmt.Errorf("agent pid %d after SIGTERM: %w (want a clean exit 0)", a.cmd.Process.Pid, a.err)
		}
		return nil
	case <-time.After(stopTimeout):
	}
	if err := a.cmd.Process.Kill(); err != nil {
		return fmt.Errorf("sigkill pid %d: %w", a.cmd.Process.Pid, err)
	}
	<-a.done
	return fmt.Errorf("agent pid %d ignored SIGTERM for %v", a.cmd.Process.Pid, stopTimeout)
}

var httpClient = &http.Client{Timeout: 5 * time.Second}

// do sends one request and returns the status and body.
func (a *agent) do(method, path string, q url.Values, body io.Reader) (int, string, error) {
	u := a.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return 0, "", err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func (a *agent) get(path string, q url.Values) (int, string, error) {
	return a.do(http.MethodGet, path, q, nil)
}

// rawInstance is the body of GET /nacos/v1/ns/instance. Nacos 1.x sends
// service, ip, port, clusterName, weight, healthy, instanceId and metadata.
type rawInstance struct {
	Service     string            `json:"service"`
	IP          string            `json:"ip"`
	Port        int               `json:"port"`
	ClusterName string            `json:"clusterName"`
	Weight      float64           `json:"weight"`
	Healthy     bool              `json:"healthy"`
	InstanceID  string            `json:"instanceId"`
	Metadata    map[string]string `json:"metadata"`
	Enabled     *bool             `json:"enabled"` // roster's addition; nil if absent
}

// target names one instance for raw requests.
type target struct {
	ns      string // namespace id; "" means public
	grouped string // group@@service, as the client sends it
	cluster string // "" means DEFAULT
	ip      string
	port    int
}

func (tg target) query() url.Values {
	q := url.Values{}
	if tg.ns != "" {
		q.Set("namespaceId", tg.ns)
	}
	q.Set("serviceName", tg.grouped)
	if tg.cluster != "" {
		q.Set("clusterName", tg.cluster)
	}
	q.Set("ip", tg.ip)
	q.Set("port", strconv.Itoa(tg.port))
	return q
}

// instance fetches GET /nacos/v1/ns/instance for tg. ok is false when the
// server answered with a non-200 status (the instance is unknown).
func (a *agent) instance(tg target) (inst rawInstance, ok bool, desc string, err error) {
	status, body, err := a.get("/nacos/v1/ns/instance", tg.query())
	desc = fmt.Sprintf("GET /nacos/v1/ns/instance?%s -> %d %s", tg.query().Encode(), status, body)
	if err != nil || status != http.StatusOK {
		return inst, false, desc, err
	}
	if err := json.Unmarshal([]byte(body), &inst); err != nil {
		return inst, false, desc, fmt.Errorf("decode %s: %w", desc, err)
	}
	return inst, true, desc, nil
}

// list fetches GET /nacos/v1/ns/instance/list the way the client does and
// decodes it into the client's own model.Service.
func (a *agent) list(ns, grouped, clusters string) (model.Service, string, error) {
	q := url.Values{}
	q.Set("namespaceId", ns)
	q.Set("serviceName", grouped)
	q.Set("clusters", clusters)
	q.Set("healthyOnly", "false")
	status, body, err := a.get("/nacos/v1/ns/instance/list", q)
	desc := fmt.Sprintf("GET /nacos/v1/ns/instance/list?%s -> %d %s", q.Encode(), status, body)
	var svc model.Service
	if err != nil {
		return svc, desc, err
	}
	if status != http.StatusOK {
		return svc, desc, fmt.Errorf("status %d, want 200 (the client drops non-200 list answers and keeps a stale cache)", status)
	}
	if err := json.Unmarshal([]byte(body), &svc); err != nil {
		return svc, desc, fmt.Errorf("decode into model.Service (as util.JsonToService does): %w", err)
	}
	return svc, desc, nil
}

// findHost returns the host with ip:port in hosts.
func findHost(hosts []model.Instance, ip string, port int) (model.Instance, bool) {
	for _, h := range hosts {
		if h.Ip == ip && h.Port == uint64(port) {
			return h, true
		}
	}
	return model.Instance{}, false
}

// waitFor polls cond every interval until it reports true or timeout passes,
// then fails the test with cond's last description.
func waitFor(t *testing.T, timeout, interval time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true within %v; last: %s", what, timeout, last)
		}
		time.Sleep(interval)
	}
}

// jsonString returns the string field key of a JSON object, or "".
func jsonString(body, key string) string {
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		return ""
	}
	s, _ := m[key].(string)
	return s
}

// serviceIndex returns roster's change index of a service in the default
// namespace and group (native API, X-Roster-Index).
func (a *agent) serviceIndex(t *testing.T, svc string) uint64 {
	t.Helper()
	resp, err := http.Get(a.base + "/v1/instances?service=" + url.QueryEscape(svc))
	if err != nil {
		t.Fatalf("GET /v1/instances: %v", err)
	}
	resp.Body.Close()
	idx, err := strconv.ParseUint(resp.Header.Get("X-Roster-Index"), 10, 64)
	if err != nil {
		t.Fatalf("X-Roster-Index %q: %v", resp.Header.Get("X-Roster-Index"), err)
	}
	return idx
}
