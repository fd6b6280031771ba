package nacos_test

// Test harness: builds and runs one `roster agent` for the whole test binary
// (through roster's process launcher), and gives tests raw HTTP access to
// its Nacos v1 API so they can check what the server holds, independently
// of the client's cache.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nacos-group/nacos-sdk-go/model"

	"github.com/roster-io/roster/client"
	"github.com/roster-io/roster/internal/agentproc"
)

const (
	// startTimeout bounds how long the agent may take to answer /healthz
	// and /readyz.
	startTimeout = 10 * time.Second
	// stopTimeout is how long SIGTERM gets before SIGKILL.
	stopTimeout = 10 * time.Second
)

var (
	// workDir holds client caches and logs; TestMain removes it.
	workDir string

	srvOnce sync.Once
	srv     *agent
	srvErr  error
)

// agent is a running `roster agent` child process, started by roster's
// process launcher (internal/agentproc).
type agent struct {
	*agentproc.Proc
	port int
	base string // http://127.0.0.1:port
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

// startAgent builds roster from the repository root, two levels above
// this package (once per test binary, unless $ROSTER_BIN names a prebuilt
// one), and starts an agent with extra flags on free ports, retrying with
// new ones when one it picked was taken before the agent could bind it
// (other tests run in parallel). It returns once the agent is ready.
func startAgent(extra ...string) (*agent, error) {
	bin, err := agentproc.Binary(context.Background(), filepath.Join("..", ".."))
	if err != nil {
		return nil, err
	}
	p, err := agentproc.Start(context.Background(), agentproc.Spec{Bin: bin, Name: "compat", Args: extra,
		Ready: true, Within: startTimeout})
	if err != nil {
		return nil, err
	}
	_, port, err := net.SplitHostPort(p.HTTP)
	if err != nil {
		p.Stop(syscall.SIGKILL, stopTimeout)
		return nil, err
	}
	a := &agent{Proc: p, base: p.URL()}
	a.port, _ = strconv.Atoi(port)
	return a, nil
}

// stop ends the agent by its PID: SIGTERM, then SIGKILL after stopTimeout.
// Anything but a clean exit 0 on SIGTERM is an error.
func (a *agent) stop() error {
	if a.Exited() {
		return a.Wait()
	}
	if a.Stop(syscall.SIGTERM, stopTimeout) {
		return fmt.Errorf("agent pid %d ignored SIGTERM for %v", a.PID(), stopTimeout)
	}
	if err := a.Wait(); err != nil {
		return fmt.Errorf("agent pid %d after SIGTERM: %w (want a clean exit 0)", a.PID(), err)
	}
	return nil
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
// namespace and group (native API, through roster's Go client).
func (a *agent) serviceIndex(t *testing.T, svc string) uint64 {
	t.Helper()
	n, err := client.NewNode(client.Config{Addrs: []string{a.base}})
	if err != nil {
		t.Fatal(err)
	}
	l, err := n.List(context.Background(), client.Query{Service: client.Service{Name: svc}})
	if err != nil {
		t.Fatalf("list %s: %v", svc, err)
	}
	return l.Index
}
