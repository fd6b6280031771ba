package nacos2_test

import (
	"bufio"
	"net/http"
	"net/url"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nacos-group/nacos-sdk-go/v2/model"
	"github.com/nacos-group/nacos-sdk-go/v2/vo"

	"github.com/roster-io/roster/internal/agentproc"
	"github.com/roster-io/roster/internal/await"
)

// watcher collects what a subscription's callback sees.
type watcher struct {
	mu   sync.Mutex
	last []string
	n    int
}

func (w *watcher) callback(services []model.Instance, err error) {
	if err != nil {
		return
	}
	var got []string
	for _, s := range services {
		got = append(got, s.Ip)
	}
	slices.Sort(got)
	w.mu.Lock()
	w.last, w.n = got, w.n+1
	w.mu.Unlock()
}

// sees reports whether the last list the callback got is ips.
func (w *watcher) sees(ips ...string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.last, ",") == strings.Join(ips, ",")
}

// httpRegister registers ip:port in service through node p's Nacos v1
// HTTP API.
func httpRegister(t *testing.T, p *agentproc.Proc, service, ip string) {
	t.Helper()
	v := url.Values{"serviceName": {service}, "ip": {ip}, "port": {"80"}}
	resp, err := httpClient.Post(p.URL()+"/nacos/v1/ns/instance?"+v.Encode(), "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("http register: %d", resp.StatusCode)
	}
}

// TestSDK runs the tests that leave the cluster's nodes running on one
// cluster.
func TestSDK(t *testing.T) {
	c := cluster(t)
	t.Run("registerSelectSubscribeDeregister", func(t *testing.T) { registerSelectSubscribeDeregister(t, c) })
	t.Run("clientKilledInstancesGoneFromEveryNodeWithin1s", func(t *testing.T) { clientKilledGone(t, c) })
}

func registerSelectSubscribeDeregister(t *testing.T, c *agentproc.Cluster) {
	n1, n2, n3 := c.Get("node1"), c.Get("node2"), c.Get("node3")
	a, b := newClient(t, n1), newClient(t, n2)
	register(t, a, "orders", "10.0.0.1", 80)
	await.True(t, time.Second, "the gRPC registration on every node", func() bool { return everywhere(c, "orders", "10.0.0.1:80") })
	got, err := b.SelectInstances(vo.SelectInstancesParam{ServiceName: "orders", HealthyOnly: true})
	if err != nil || len(got) != 1 || got[0].Ip != "10.0.0.1" || got[0].Port != 80 || got[0].Metadata["via"] != "grpc" {
		t.Fatalf("select through another node: %+v %v", got, err)
	}
	w := &watcher{}
	if err := b.Subscribe(&vo.SubscribeParam{ServiceName: "orders", SubscribeCallback: w.callback}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	httpRegister(t, n3, "orders", "10.0.0.2")
	await.True(t, 2*time.Second, "a change made through a third node pushed to the subscriber", func() bool {
		return w.sees("10.0.0.1", "10.0.0.2")
	})
	t.Logf("push seen by the callback %v after the registration's answer", time.Since(start))
	ok, err := a.DeregisterInstance(vo.DeregisterInstanceParam{Ip: "10.0.0.1", Port: 80, ServiceName: "orders", Ephemeral: true})
	if err != nil || !ok {
		t.Fatalf("deregister: %v %v", ok, err)
	}
	await.True(t, time.Second, "the deregistration on every node", func() bool { return everywhere(c, "orders", "10.0.0.2:80") })
	await.True(t, 2*time.Second, "the deregistration pushed", func() bool { return w.sees("10.0.0.2") })
}

func clientKilledGone(t *testing.T, c *agentproc.Cluster) {
	_, clientBin := binaries(t)
	n1 := c.Get("node1")
	cmd := exec.Command(clientBin, "-servers", n1.HTTP, "-service", "killed", "-ip", "10.0.0.9", "-port", "80", "-dir", t.TempDir())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-done
	})
	line := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(out)
		for s.Scan() {
			if s.Text() == "registered" {
				line <- s.Text()
			}
		}
	}()
	select {
	case <-line:
	case <-done:
		t.Fatal("client exited before registering")
	case <-time.After(20 * time.Second):
		t.Fatal("client did not register within 20s")
	}
	await.True(t, time.Second, "the client's instance on every node", func() bool { return everywhere(c, "killed", "10.0.0.9:80") })
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-done
	el := await.True(t, time.Second, "the killed client's instance gone from every node", func() bool { return everywhere(c, "killed") })
	t.Logf("gone from every node %v after the client process exited", el)
}

func TestSDK_holderKilledClientReconnectsAndRegistersAgain(t *testing.T) {
	c := cluster(t)
	live := c.Live()
	cl := newClient(t, live...)
	register(t, cl, "moving", "10.0.0.3", 80)
	w := &watcher{}
	if err := cl.Subscribe(&vo.SubscribeParam{ServiceName: "watched", SubscribeCallback: w.callback}); err != nil {
		t.Fatal(err)
	}
	await.True(t, time.Second, "registration on every node", func() bool { return everywhere(c, "moving", "10.0.0.3:80") })
	var holder *agentproc.Proc
	await.True(t, 2*time.Second, "one node holding the client's connection", func() bool {
		holder = nil
		for _, p := range live {
			if connections(p) == 1 {
				holder = p
			}
		}
		return holder != nil
	})
	t.Logf("the client is connected to %s; killing it", holder.Name)
	if err := c.Kill(holder.Name); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	// Failure detection (about 1 s with the local gossip profile) + 2 s.
	await.True(t, 3*time.Second, "the client connected to a surviving node", func() bool {
		n := 0
		for _, p := range c.Live() {
			n += max(connections(p), 0)
		}
		return n == 1
	})
	await.True(t, 3*time.Second, "the instance listed on every surviving node", func() bool {
		return everywhere(c, "moving", "10.0.0.3:80")
	})
	t.Logf("reconnected and listed %v after the kill", time.Since(killed))
	httpRegister(t, c.Live()[0], "watched", "10.0.0.4")
	await.True(t, 2*time.Second, "the subscriber, reconnected, still gets changes", func() bool { return w.sees("10.0.0.4") })
}
