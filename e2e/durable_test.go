package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/roster-io/roster/internal/agentproc"
	"github.com/roster-io/roster/internal/await"
)

// TestDurable_wholeClusterSigkill runs three agents with data
// directories, SIGKILLs all three at the same moment while persistent
// registrations and deletions are being acknowledged (once 500
// registrations over 20 services have been), and restarts them:
// every acknowledged registration is listed on every node, no
// acknowledged deletion has come back, and the services' protect
// thresholds and health checkers are intact.
func TestDurable_wholeClusterSigkill(t *testing.T) {
	began := time.Now()
	c := agentproc.NewCluster(agentproc.ClusterConfig{Bin: binary(t), DataDir: t.TempDir(),
		Args: []string{"--log-level", "info", "--gossip-profile", "local"}})
	t.Cleanup(func() { c.Shutdown(syscall.SIGTERM) })
	names := []string{"a", "b", "c"}
	startAll := func() {
		for _, n := range names {
			if _, err := c.Start(context.Background(), n, "", ""); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.WaitReady(context.Background(), 20*time.Second); err != nil {
			t.Fatal(err)
		}
		t.Logf("cluster ready at %v", time.Since(began).Round(time.Millisecond))
	}
	startAll()
	nodes := c.Live()
	for s := range durServices {
		v := vals("serviceName", fmt.Sprintf("dur-%02d", s), "protectThreshold", fmt.Sprintf("0.%02d", s+1))
		if code, body := call(http.MethodPost, nodes[s%3].HTTP, "/nacos/v1/ns/service", v); code != 200 {
			t.Fatalf("create service: %d %s", code, body)
		}
		hc := vals("serviceName", fmt.Sprintf("dur-%02d", s), "clusterName", "DEFAULT", "checkPort", "80", "useInstancePort4Check", "true",
			"healthChecker", `{"type":"NONE"}`)
		if code, body := call(http.MethodPut, nodes[s%3].HTTP, "/nacos/v1/ns/cluster", hc); code != 200 {
			t.Fatalf("set the health checker: %d %s", code, body)
		}
	}
	w := startWriters(nodes)
	// Kill while writes are being acknowledged, once 500 persistent
	// registrations have been.
	await.True(t, 90*time.Second, "500 acknowledged registrations", func() bool { return w.acked() >= 500 })
	c.Shutdown(syscall.SIGKILL) // every node at once
	w.stop()
	t.Logf("acknowledged before the kill: %d registrations, %d deletions", len(w.added), len(w.deleted))
	if len(w.added) < 500 {
		t.Fatalf("only %d registrations acknowledged; the test needs 500", len(w.added))
	}
	startAll()
	for _, p := range c.Live() {
		w.check(t, p)
	}
}

// durServices is how many services the durability test writes to.
const durServices = 20

// writers register persistent instances and delete every third one they
// registered, through every node, until stopped; they record what was
// acknowledged.
type writers struct {
	mu      sync.Mutex
	added   map[string]bool // "service ip" of acknowledged registrations
	deleted map[string]bool // of acknowledged deletions
	tried   map[string]bool // of deletions sent, acknowledged or not
	done    chan struct{}
	wg      sync.WaitGroup
}

func startWriters(nodes []*agentproc.Proc) *writers {
	w := &writers{added: map[string]bool{}, deleted: map[string]bool{}, tried: map[string]bool{}, done: make(chan struct{})}
	for n := range 6 {
		addr := nodes[n%len(nodes)].HTTP
		w.wg.Go(func() { w.run(n, addr) })
	}
	return w
}

func (w *writers) run(n int, addr string) {
	at := func(i int) (string, string) {
		return fmt.Sprintf("dur-%02d", i%durServices), fmt.Sprintf("10.%d.%d.%d", n, i/250, i%250)
	}
	note := func(m map[string]bool, svc, ip string) {
		w.mu.Lock()
		m[svc+" "+ip] = true
		w.mu.Unlock()
	}
	for i := 0; ; i++ {
		select {
		case <-w.done:
			return
		default:
		}
		svc, ip := at(i)
		if code, _ := call(http.MethodPost, addr, "/nacos/v1/ns/instance", vals("serviceName", svc, "ip", ip, "port", "80", "ephemeral", "false")); code == 200 {
			note(w.added, svc, ip)
		}
		if i%3 == 2 {
			svc, ip := at(i - 1)
			note(w.tried, svc, ip)
			if code, _ := call(http.MethodDelete, addr, "/nacos/v1/ns/instance", vals("serviceName", svc, "ip", ip, "port", "80", "ephemeral", "false")); code == 200 {
				note(w.deleted, svc, ip)
			}
		}
	}
}

// acked is the number of acknowledged registrations.
func (w *writers) acked() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.added)
}

func (w *writers) stop() {
	close(w.done)
	w.wg.Wait()
}

// check waits until p lists every acknowledged registration not since
// deleted (an unacknowledged deletion may or may not have happened) and
// no acknowledged deletion, then checks the services' settings.
func (w *writers) check(t *testing.T, p *agentproc.Proc) {
	t.Helper()
	var missing, back []string
	_, err := await.Until(context.Background(), 100*time.Millisecond, 10*time.Second, func() bool {
		held := listAll(t, p.HTTP, durServices)
		missing, back = nil, nil
		for k := range w.added {
			if !w.tried[k] && !held[k] {
				missing = append(missing, k)
			}
		}
		for k := range w.deleted {
			if held[k] {
				back = append(back, k)
			}
		}
		return len(missing) == 0 && len(back) == 0
	})
	if err != nil {
		t.Fatalf("%s after the restart: %d acknowledged registrations missing (%v), %d acknowledged deletions back (%v)",
			p.Name, len(missing), head(missing), len(back), head(back))
	}
	for s := range durServices {
		_, body := call(http.MethodGet, p.HTTP, "/nacos/v1/ns/service", vals("serviceName", fmt.Sprintf("dur-%02d", s)))
		var info struct {
			ProtectThreshold float64 `json:"protectThreshold"`
		}
		if err := json.Unmarshal([]byte(body), &info); err != nil || fmt.Sprintf("%.2f", info.ProtectThreshold) != fmt.Sprintf("0.%02d", s+1) ||
			!strings.Contains(body, `"healthChecker":{"type":"NONE"}`) {
			t.Fatalf("%s: service dur-%02d after the restart: %s", p.Name, s, body)
		}
	}
	t.Logf("%s holds every acknowledged write and setting", p.Name)
}

// listAll returns "service ip" of every instance listed by addr.
func listAll(t *testing.T, addr string, services int) map[string]bool {
	held := map[string]bool{}
	for s := range services {
		svc := fmt.Sprintf("dur-%02d", s)
		code, body := call(http.MethodGet, addr, "/nacos/v1/ns/instance/list", vals("serviceName", svc))
		var l struct {
			Hosts []struct {
				IP string `json:"ip"`
			} `json:"hosts"`
		}
		if code != 200 || json.Unmarshal([]byte(body), &l) != nil {
			return map[string]bool{}
		}
		for _, h := range l.Hosts {
			held[svc+" "+h.IP] = true
		}
	}
	return held
}

func head(s []string) []string {
	if len(s) > 5 {
		return s[:5]
	}
	return s
}

// TestDurable_damagedDataFileStopsTheNode flips bytes of a stopped node's
// data file: the node refuses to start, with an error that names the file
// and what to do, and exits non-zero.
func TestDurable_damagedDataFileStopsTheNode(t *testing.T) {
	dir := t.TempDir()
	spec := agentproc.Spec{Bin: binary(t), Name: "solo", DataDir: dir, Ready: true}
	p, err := agentproc.Start(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	v := vals("serviceName", "dmg", "ip", "10.7.7.7", "port", "80", "ephemeral", "false", "metadata", `{"mark":"DAMAGE-ME-PLEASE"}`)
	if code, body := call(http.MethodPost, p.HTTP, "/nacos/v1/ns/instance", v); code != 200 {
		t.Fatalf("register: %d %s", code, body)
	}
	if p.Stop(syscall.SIGTERM, 10*time.Second) {
		t.Fatal("no graceful stop")
	}
	path := filepath.Join(dir, "roster.db")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	mark := []byte("DAMAGE-ME-PLEASE")
	if !bytes.Contains(b, mark) {
		t.Fatal("record not found in the data file")
	}
	for i := bytes.Index(b, mark); i >= 0; i = bytes.Index(b, mark) {
		b[i] ^= 0x20
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	p, err = agentproc.Start(context.Background(), spec)
	if err == nil {
		p.Stop(syscall.SIGKILL, time.Second)
		t.Fatal("the node started on a damaged data file")
	}
	out := err.Error() // carries the output's tail
	for _, want := range []string{"exited (exit status 1)", path, "checksum mismatch", "move the data directory"} {
		if !strings.Contains(out, want) {
			t.Fatalf("the error does not say %q:\n%s", want, out)
		}
	}
}
