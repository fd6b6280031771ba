package agent_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/internal/await"
	"github.com/roster-io/roster/peer"
	"github.com/roster-io/roster/store"
)

func TestLimits_instancesPerServiceAndNamespace(t *testing.T) {
	n, base := startNode(t, func(c *agent.Config) { c.MaxInstancesPerService, c.MaxInstancesPerNamespace = 2, 3 })
	reg := func(svc, ip string) (int, string) {
		return nacos(t, base, http.MethodPost, "instance", vals("serviceName", svc, "ip", ip, "port", "80"))
	}
	for _, ip := range []string{"10.0.0.1", "10.0.0.2"} {
		if code, body := reg("a", ip); code != 200 {
			t.Fatalf("register %s: %d %s", ip, code, body)
		}
	}
	before := n.Node().Store().Index()
	code, body := reg("a", "10.0.0.3")
	if code != http.StatusConflict || !strings.Contains(body, "--max-instances-per-service") {
		t.Fatalf("third instance of service a: got %d %s, want 409 naming --max-instances-per-service", code, body)
	}
	code, body = do(t, http.MethodPost, base+"/v1/instance", "application/json", `{"service":"a","ip":"10.0.0.4","port":80}`)
	if code != http.StatusConflict || !strings.Contains(body, "--max-instances-per-service") {
		t.Fatalf("native: got %d %s, want 409", code, body)
	}
	code, body = do(t, http.MethodPut, base+"/v1/instance/beat", "application/json",
		`{"service":"a","ip":"10.0.0.5","port":80,"instance":{"service":"a","ip":"10.0.0.5","port":80}}`)
	if code != http.StatusConflict {
		t.Fatalf("beat re-registering past the limit: got %d %s, want 409", code, body)
	}
	if n.Node().Store().Index() != before {
		t.Fatal("a refused registration changed the registry")
	}
	// Re-registering a live instance is not a new one.
	if code, body := reg("a", "10.0.0.1"); code != 200 {
		t.Fatalf("re-register at the limit: %d %s", code, body)
	}
	if code, body := reg("b", "10.0.0.1"); code != 200 {
		t.Fatalf("third instance of the namespace: %d %s", code, body)
	}
	before = n.Node().Store().Index()
	code, body = reg("c", "10.0.0.1")
	if code != http.StatusConflict || !strings.Contains(body, "--max-instances-per-namespace") {
		t.Fatalf("fourth instance of the namespace: got %d %s, want 409 naming --max-instances-per-namespace", code, body)
	}
	if n.Node().Store().Index() != before {
		t.Fatal("a refused registration changed the registry")
	}
	// Another namespace has room.
	if code, body := nacos(t, base, http.MethodPost, "instance", vals("serviceName", "c", "ip", "10.0.0.1", "port", "80", "namespaceId", "dev")); code != 200 {
		t.Fatalf("other namespace: %d %s", code, body)
	}
}

func TestLimits_replicatedWritesAreNeverRefused(t *testing.T) {
	tc := agenttest.NewCluster(t, 2, func(c *agent.Config) { c.MaxInstancesPerService = 1 })
	n0, n1 := tc.Agent("n0"), tc.Agent("n1")
	// Each node accepts one instance of the service: at the limit on each
	// when alone, both together through replication.
	if code, body := nacos(t, base(n0), http.MethodPost, "instance", vals("serviceName", "full", "ip", "10.0.0.1", "port", "80")); code != 200 {
		t.Fatalf("register on n0: %d %s", code, body)
	}
	waitListed(t, tc, "full", "10.0.0.1")
	if code, _ := nacos(t, base(n1), http.MethodPost, "instance", vals("serviceName", "full", "ip", "10.0.0.2", "port", "80")); code != http.StatusConflict {
		t.Fatalf("second instance through n1: got %d, want 409", code)
	}
	// A record that arrives by replication is applied even past the limit.
	in, err := n1.Node().Store().Register(keyOf("full"), store.Instance{
		InstanceKey: store.InstanceKey{Cluster: store.DefaultCluster, IP: "10.0.0.3", Port: 80}, Weight: 1, Enabled: true, Healthy: true})
	if err != nil {
		t.Fatal(err)
	}
	// Delivered as n1's transport delivers a delta (loopback, n1's name).
	body, _ := json.Marshal(map[string]any{"records": []store.Record{{Key: keyOf("full"), Instance: &in}}})
	req, _ := http.NewRequest(http.MethodPost, base(n0)+"/internal/v1/deltas", bytes.NewReader(body))
	req.Header.Set(peer.NodeHeader, "n1")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("delta from n1: %s", resp.Status)
	}
	await.True(t, 5*time.Second, "replicated instance past the limit applied on n0", func() bool {
		return len(n0.Node().Store().Snapshot(keyOf("full")).Instances) == 2
	})
}

func TestLimits_metadataBytes(t *testing.T) {
	n, base := startNode(t, func(c *agent.Config) { c.MaxMetadataBytes = 16 })
	if code, body := nacos(t, base, http.MethodPost, "instance", vals("serviceName", "m", "ip", "10.0.0.1", "port", "80", "metadata", "k=0123456789")); code != 200 {
		t.Fatalf("12 bytes of metadata: %d %s", code, body)
	}
	before := n.Node().Store().Index()
	big := "k=0123456789abcdefgh" // 21 bytes
	for _, tc := range []struct {
		name         string
		method, path string
		v            string
	}{
		{"nacos register", http.MethodPost, "instance", "serviceName=m&ip=10.0.0.2&port=80&metadata=" + big},
		{"nacos update", http.MethodPut, "instance", "serviceName=m&ip=10.0.0.1&port=80&metadata=" + big},
		{"nacos service", http.MethodPost, "service", "serviceName=m2&metadata=" + big},
	} {
		code, body := do(t, tc.method, base+"/nacos/v1/ns/"+tc.path, form, tc.v)
		if code != http.StatusBadRequest || !strings.Contains(body, "metadata") || !strings.Contains(body, "--max-metadata-bytes") {
			t.Errorf("%s: got %d %s, want 400 naming metadata and --max-metadata-bytes", tc.name, code, body)
		}
	}
	code, body := do(t, http.MethodPost, base+"/v1/instance", "application/json", `{"service":"m","ip":"10.0.0.3","port":80,"metadata":{"k":"0123456789abcdefgh"}}`)
	if code != http.StatusBadRequest || !strings.Contains(body, "--max-metadata-bytes") {
		t.Errorf("native register: got %d %s, want 400", code, body)
	}
	if n.Node().Store().Index() != before {
		t.Fatal("refused metadata changed the registry")
	}
}

// TestLimits_maxConcurrent holds the only slot with a request whose body
// is still arriving, and checks that client requests get 429 while
// probes pass, and that blocking queries waiting do not hold slots.
func TestLimits_maxConcurrent(t *testing.T) {
	n, base := startNode(t, func(c *agent.Config) { c.MaxConcurrent = 1 })
	// Blocking queries first: they wait without a slot.
	var wg sync.WaitGroup
	defer wg.Wait()
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Get(base + "/v1/instances?service=watched&index=999999&wait=3s")
			if err == nil {
				resp.Body.Close()
			}
		}()
	}
	await.True(t, 10*time.Second, "3 blocking queries waiting", func() bool { return waitingOf(n) == 3 })
	if code, body := do(t, http.MethodGet, base+"/v1/instances?service=x", "", ""); code != 200 {
		t.Fatalf("list while blocking queries wait: got %d %s, want 200", code, body)
	}

	// A register whose body has not arrived holds the one slot.
	pr, pw := io.Pipe()
	req, _ := http.NewRequest(http.MethodPost, base+"/nacos/v1/ns/instance", pr)
	req.Header.Set("Content-Type", form)
	slow := make(chan int, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			slow <- 0
			return
		}
		resp.Body.Close()
		slow <- resp.StatusCode
	}()
	if _, err := pw.Write([]byte("serviceName=s&ip=10.0.0.1")); err != nil {
		t.Fatal(err)
	}
	await.True(t, 10*time.Second, "slow request holds the slot", func() bool { return inflightOf(n) == 1 })
	before := n.Node().Store().Index()
	code, body := do(t, http.MethodGet, base+"/v1/instances?service=x", "", "")
	if code != http.StatusTooManyRequests || !strings.Contains(body, "--max-concurrent") {
		t.Fatalf("list beyond the limit: got %d %s, want 429 naming --max-concurrent", code, body)
	}
	code, body = nacos(t, base, http.MethodPost, "instance", vals("serviceName", "t", "ip", "10.0.0.9", "port", "80"))
	if code != http.StatusTooManyRequests {
		t.Fatalf("nacos register beyond the limit: got %d %s, want 429", code, body)
	}
	if code, _ := do(t, http.MethodGet, base+"/healthz", "", ""); code != 200 {
		t.Fatalf("probe beyond the limit: got %d, want 200", code)
	}
	if n.Node().Store().Index() != before {
		t.Fatal("a refused request changed the registry")
	}
	// The slot comes back when the slow request ends.
	if _, err := pw.Write([]byte("&port=80")); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if got := <-slow; got != 200 {
		t.Fatalf("slow register: got %d, want 200", got)
	}
	await.True(t, 5*time.Second, "slot released", func() bool { return inflightOf(n) == 0 })
	if code, body := do(t, http.MethodGet, base+"/v1/instances?service=x", "", ""); code != 200 {
		t.Fatalf("list after the slot came back: got %d %s", code, body)
	}
}

// TestLimits_headerAndIdleTimeouts checks that a client slow to send its
// headers, and a keep-alive connection left idle, are closed.
func TestLimits_headerAndIdleTimeouts(t *testing.T) {
	n, _ := startNode(t, func(c *agent.Config) { c.ReadHeaderTimeout, c.IdleTimeout = 200*time.Millisecond, 300*time.Millisecond })
	closedWithin := func(conn net.Conn, within time.Duration) (time.Duration, []byte) {
		start := time.Now()
		conn.SetReadDeadline(start.Add(within))
		var got []byte
		buf := make([]byte, 4096)
		for {
			k, err := conn.Read(buf)
			got = append(got, buf[:k]...)
			if err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					t.Fatalf("connection still open after %v", within)
				}
				return time.Since(start), got
			}
		}
	}
	slow, err := net.Dial("tcp", n.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	if _, err := slow.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n")); err != nil {
		t.Fatal(err)
	}
	if _, got := closedWithin(slow, 10*time.Second); strings.Contains(string(got), "200 OK") {
		t.Fatalf("a request whose headers never ended was answered: %q", got)
	}

	idle, err := net.Dial("tcp", n.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	if _, err := idle.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	if _, got := closedWithin(idle, 10*time.Second); !strings.Contains(string(got), "200 OK") {
		t.Fatalf("idle keep-alive connection: got %q, want a 200 answer, then the close", got)
	}
}
