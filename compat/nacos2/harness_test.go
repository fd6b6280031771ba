package nacos2_test

// Test harness: a three-node cluster of `roster agent` processes (through
// roster's process launcher), nacos-sdk-go v2 clients pointed at chosen
// nodes, and raw HTTP to each node's Nacos v1 API.

import (
	"context"
	"encoding/json"
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

	"github.com/nacos-group/nacos-sdk-go/v2/clients"
	"github.com/nacos-group/nacos-sdk-go/v2/clients/naming_client"
	"github.com/nacos-group/nacos-sdk-go/v2/common/constant"
	"github.com/nacos-group/nacos-sdk-go/v2/vo"

	"github.com/roster-io/roster/internal/agentproc"
)

var (
	buildOnce sync.Once
	rosterBin string
	clientBin string
	buildErr  error
)

// TestMain removes the binaries built for the tests once they are over.
func TestMain(m *testing.M) {
	code := m.Run()
	agentproc.RemoveBinaries()
	if clientBin != "" {
		_ = os.RemoveAll(filepath.Dir(clientBin))
	}
	os.Exit(code)
}

// binaries builds roster and cmd/nacos2client once per test binary.
func binaries(t testing.TB) (roster, client string) {
	t.Helper()
	buildOnce.Do(func() {
		rosterBin, buildErr = agentproc.Binary(context.Background(), filepath.Join("..", ".."))
		if buildErr != nil {
			return
		}
		dir, err := os.MkdirTemp("", "nacos2client-")
		if err != nil {
			buildErr = err
			return
		}
		clientBin = filepath.Join(dir, "nacos2client")
		out, err := exec.Command("go", "build", "-o", clientBin, "./cmd/nacos2client").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("build nacos2client: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return rosterBin, clientBin
}

// cluster starts three nodes, stopped by PID when the test ends.
func cluster(t *testing.T) *agentproc.Cluster {
	t.Helper()
	bin, _ := binaries(t)
	c, err := agentproc.StartCluster(context.Background(), agentproc.ClusterConfig{Bin: bin,
		Args: []string{"--gossip-profile", "local", "--log-level", "warn"}}, "node", 3, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Shutdown(syscall.SIGKILL) })
	return c
}

// newClient returns a nacos-sdk-go v2 naming client of the given nodes
// (their HTTP addresses; the client adds 1000 for gRPC).
func newClient(t *testing.T, nodes ...*agentproc.Proc) naming_client.INamingClient {
	t.Helper()
	var sc []constant.ServerConfig
	for _, p := range nodes {
		host, port, _ := net.SplitHostPort(p.HTTP)
		n, _ := strconv.ParseUint(port, 10, 64)
		sc = append(sc, constant.ServerConfig{IpAddr: host, Port: n})
	}
	dir := t.TempDir()
	cc := constant.ClientConfig{TimeoutMs: 5000, NotLoadCacheAtStart: true, UpdateCacheWhenEmpty: true,
		CacheDir: dir, LogDir: dir, LogLevel: "warn"}
	c, err := clients.NewNamingClient(vo.NacosClientParam{ClientConfig: &cc, ServerConfigs: sc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseClient)
	return c
}

func register(t *testing.T, c naming_client.INamingClient, service, ip string, port uint64) {
	t.Helper()
	ok, err := c.RegisterInstance(vo.RegisterInstanceParam{Ip: ip, Port: port, ServiceName: service, Weight: 1,
		Enable: true, Healthy: true, Ephemeral: true, Metadata: map[string]string{"via": "grpc"}})
	if err != nil || !ok {
		t.Fatalf("register %s %s:%d: %v %v", service, ip, port, ok, err)
	}
}

var httpClient = &http.Client{Timeout: 2 * time.Second}

// ips lists service on node p through its Nacos v1 HTTP API; nil on any
// error (the node may be dead).
func ips(p *agentproc.Proc, service string) []string {
	resp, err := httpClient.Get(p.URL() + "/nacos/v1/ns/instance/list?" + url.Values{"serviceName": {service}}.Encode())
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var body struct {
		Hosts []struct {
			IP   string `json:"ip"`
			Port int    `json:"port"`
		} `json:"hosts"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(b, &body) != nil {
		return nil
	}
	out := []string{}
	for _, h := range body.Hosts {
		out = append(out, fmt.Sprintf("%s:%d", h.IP, h.Port))
	}
	return out
}

// everywhere reports whether every live node lists exactly want.
func everywhere(c *agentproc.Cluster, service string, want ...string) bool {
	for _, p := range c.Live() {
		got := ips(p, service)
		if got == nil || strings.Join(got, ",") != strings.Join(want, ",") {
			return false
		}
	}
	return true
}

// connections returns how many gRPC connections node p holds, from its
// metrics.
func connections(p *agentproc.Proc) int {
	resp, err := httpClient.Get(p.URL() + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "roster_grpc_connections "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return int(f)
		}
	}
	return -1
}
