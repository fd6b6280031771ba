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
// registrations and deletions are being acknowledged, and restarts them:
// every acknowledged registration is listed on every node, no
// acknowledged deletion has come back, and the services' protect
// thresholds and health checkers are intact.
func TestDurable_wholeClusterSigkill(t *testing.T) {
	began := time.Now()
	c := agentproc.NewCluster(agentproc.ClusterConfig{Bin: binary(t), DataDir: t.TempDir(),
		Args: []string{"--log-level", "info", "--gossip-profile", "local"}})
	t.Cleanup(func() {
		c.Shutdown(syscall.SIGTERM)
	})
	names := []string{"a", "b", "c"}
	for _, n := range names {
		if _, err := c.Start(context.Background(), n, "", ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.WaitReady(context.Background(), 15*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("cluster up at %v", time.Since(began).Round(time.Millisecond))
	const services = 20
	nodes := c.Live()
	for s := range services {
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

	// Writers: register persistent instances and delete every third one
	// they registered, through all three nodes, until the kill.
	var mu sync.Mutex
	// tried: deletions sent, acknowledged or not (an unacknowledged one
	// may or may not have happened).
	added, deleted, tried := map[string]bool{}, map[string]bool{}, map[string]bool{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 6 {
		addr := nodes[w%3].HTTP
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				svc, ip := fmt.Sprintf("dur-%02d", i%services), fmt.Sprintf("10.%d.%d.%d", w, i/250, i%250)
				v := vals("serviceName", svc, "ip", ip, "port", "80", "ephemeral", "false")
				if code, _ := call(http.MethodPost, addr, "/nacos/v1/ns/instance", v); code == 200 {
					mu.Lock()
					added[svc+" "+ip] = true
					mu.Unlock()
				}
				if i%3 == 2 {
					j := i - 1
					svc, ip := fmt.Sprintf("dur-%02d", j%services), fmt.Sprintf("10.%d.%d.%d", w, j/250, j%250)
					mu.Lock()
					tried[svc+" "+ip] = true
					mu.Unlock()
					if code, _ := call(http.MethodDelete, addr, "/nacos/v1/ns/instance", vals("serviceName", svc, "ip", ip, "port", "80", "ephemeral", "false")); code == 200 {
						mu.Lock()
						deleted[svc+" "+ip] = true
						mu.Unlock()
					}
				}
			}
		})
	}
	time.Sleep(1500 * time.Millisecond) // writes being acknowledged meanwhile
	killAt := time.Now()
	c.Shutdown(syscall.SIGKILL) // every node at once
	t.Logf("killed within %v", time.Since(killAt).Round(time.Millisecond))
	close(stop)
	wg.Wait()
	t.Logf("acknowledged before the kill: %d registrations, %d deletions", len(added), len(deleted))
	if len(added) < 100 {
		t.Fatalf("only %d registrations acknowledged; the test needs a real load", len(added))
	}

	for _, n := range names {
		if _, err := c.Start(context.Background(), n, "", ""); err != nil {
			t.Fatal(err)
		}
	}
	restarted := time.Now()
	if err := c.WaitReady(context.Background(), 20*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("restarted cluster ready after %v", time.Since(restarted).Round(time.Millisecond))
	for _, p := range c.Live() {
		var missing, back []string
		el, err := await.Until(context.Background(), 100*time.Millisecond, 10*time.Second, func() bool {
			held := listAll(t, p.HTTP, services)
			missing, back = nil, nil
			for k := range added {
				if !tried[k] && !held[k] {
					missing = append(missing, k)
				}
			}
			for k := range deleted {
				if held[k] {
					back = append(back, k)
				}
			}
			return len(missing) == 0 && len(back) == 0
		})
		t.Logf("%s checked at %v", p.Name, time.Since(began).Round(time.Millisecond))
		if err != nil {
			t.Fatalf("%s after the restart: %d acknowledged registrations missing (%v), %d acknowledged deletions back (%v)",
				p.Name, len(missing), head(missing), len(back), head(back))
		}
		t.Logf("%s holds every acknowledged write (checked until %s)", p.Name, el.Format(time.StampMilli))
		for s := range services {
			_, body := call(http.MethodGet, p.HTTP, "/nacos/v1/ns/service", vals("serviceName", fmt.Sprintf("dur-%02d", s)))
			var info struct {
				ProtectThreshold float64 `json:"protectThreshold"`
			}
			if err := json.Unmarshal([]byte(body), &info); err != nil || fmt.Sprintf("%.2f", info.ProtectThreshold) != fmt.Sprintf("0.%02d", s+1) ||
				!strings.Contains(body, `"healthChecker":{"type":"NONE"}`) {
				t.Fatalf("%s: service dur-%02d after the restart: %s", p.Name, s, body)
			}
		}
	}
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
