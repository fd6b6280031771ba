package grpcdoor_test

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/internal/await"
)

func TestDoor_pushReachesSubscriberOnAnotherNode(t *testing.T) {
	cl := agenttest.NewCluster(t, 3, fast)
	sub := connect(t, cl.Agent("n1"))
	typ, body := sub.call("SubscribeServiceRequest", map[string]any{"requestId": "s", "namespace": "public",
		"serviceName": "pushed", "groupName": "DEFAULT_GROUP", "subscribe": true, "clusters": ""})
	if typ != "SubscribeServiceResponse" || len(hosts(body["serviceInfo"])) != 0 {
		t.Fatalf("subscribe: got %s %v", typ, body)
	}
	start := time.Now()
	httpRegister(t, cl.Agent("n2"), "pushed", "10.0.0.1", 80)
	n := sub.recv("NotifySubscriberRequest", 2*time.Second)
	t.Logf("push %v after the registration's answer", time.Since(start))
	info := n["serviceInfo"].(map[string]any)
	if h := hosts(info); len(h) != 1 || h[0]["ip"] != "10.0.0.1" || info["name"] != "pushed" || info["groupName"] != "DEFAULT_GROUP" {
		t.Fatalf("push: got %v", n)
	}
	// Acknowledge it, then a second change must come as a newer list.
	if err := sub.stream.Send(raw("NotifySubscriberResponse", map[string]any{"requestId": n["requestId"], "resultCode": 200, "success": true})); err != nil {
		t.Fatal(err)
	}
	reg := connect(t, cl.Agent("n0"))
	reg.register("pushed", "10.0.0.2", 80)
	n2 := sub.recv("NotifySubscriberRequest", 2*time.Second)
	if h := hosts(n2["serviceInfo"]); len(h) != 2 {
		t.Fatalf("second push: got %v", n2)
	}
	if n2["serviceInfo"].(map[string]any)["lastRefTime"].(float64) <= info["lastRefTime"].(float64) {
		t.Fatalf("lastRefTime did not grow: %v then %v", info["lastRefTime"], n2["serviceInfo"].(map[string]any)["lastRefTime"])
	}
}

func TestDoor_closedConnectionGoneOnEveryNode(t *testing.T) {
	cl := agenttest.NewCluster(t, 3, fast)
	c := connect(t, cl.Agent("n0"))
	c.register("bound", "10.0.0.1", 80)
	await.True(t, 2*time.Second, "registration on every node", func() bool {
		for _, a := range cl.Agents() {
			if len(httpHosts(t, a, "bound")) != 1 {
				return false
			}
		}
		return true
	})
	c.cc.Close()
	// A second locally; the bound is looser for the race detector on a
	// loaded machine (the compatibility suite holds real processes to 1 s).
	el := await.True(t, 3*time.Second, "instance gone from every node", func() bool {
		for _, a := range cl.Agents() {
			if len(httpHosts(t, a, "bound")) != 0 {
				return false
			}
		}
		return true
	})
	t.Logf("gone from every node %v after the close", el)
}

func TestDoor_holderDiesInstancesExpireUnlessReRegistered(t *testing.T) {
	// A lease of 3 s, so renewals keep up on a loaded machine: the dead
	// holder's instance goes at failure detection plus the 1 s grace.
	steady := func(c *agent.Config) { fast(c); c.GRPC.LeaseInterval = time.Second }
	cl := agenttest.NewCluster(t, 3, steady)
	dead := connect(t, cl.Agent("n2"))
	dead.register("held", "10.0.0.1", 80)
	moved := connect(t, cl.Agent("n2"))
	moved.register("held", "10.0.0.2", 80)
	await.True(t, 5*time.Second, "both on n0", func() bool { return len(httpHosts(t, cl.Agent("n0"), "held")) == 2 })
	cl.Kill("n2")
	// The client of 10.0.0.2 reconnects elsewhere and registers again,
	// as the clients' redo does.
	again := connect(t, cl.Agent("n1"))
	again.register("held", "10.0.0.2", 80)
	only := func(name string) bool {
		h := httpHosts(t, cl.Agent(name), "held")
		return len(h) == 1 && h[0]["ip"] == "10.0.0.2"
	}
	el := await.True(t, 10*time.Second, "the dead holder's instance gone", func() bool { return only("n0") && only("n1") })
	t.Logf("dead holder's instance gone after %v", el)
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		for _, name := range []string{"n0", "n1"} {
			if !only(name) {
				t.Fatalf("%s: the re-registered instance did not stay: %v", name, httpHosts(t, cl.Agent(name), "held"))
			}
		}
	}
}

func TestDoor_aclTokens(t *testing.T) {
	a := agenttest.Start(t, fast, func(c *agent.Config) { c.ACL.Tokens, c.GossipAddr = []string{"s3cret"}, "" })
	c := connect(t, a)
	typ, body := c.call("InstanceRequest", instanceReq("registerInstance", "acl", "10.0.0.1", 1))
	if typ != "InstanceResponse" || body["errorCode"] != 403.0 || body["success"] == true {
		t.Fatalf("register without token: got %s %v", typ, body)
	}
	c.token = "wrong"
	if _, body := c.call("InstanceRequest", instanceReq("registerInstance", "acl", "10.0.0.1", 1)); body["errorCode"] != 403.0 {
		t.Fatalf("register with a wrong token: got %v", body)
	}
	c.token = "s3cret"
	c.register("acl", "10.0.0.1", 1)
	c.token = ""
	if h := c.query("acl"); len(h) != 1 {
		t.Fatalf("read without token (reads pass): got %v", h)
	}
}

func TestDoor_thousandConnectionsOpenedAndDropped(t *testing.T) {
	// Default timers (a 2 s lease, a 10 s setup timeout); this raw client
	// does not answer ClientDetectionRequest, so none is sent.
	a := agenttest.Start(t, func(c *agent.Config) { c.GRPC.DetectIdle = time.Hour })
	before := runtime.NumGoroutine()
	const n, workers = manyConns, 16
	clients := make([]*client, n)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				c := connect(t, a)
				c.register("many", fmt.Sprintf("10.1.%d.%d", i/250, i%250+1), 80)
				clients[i] = c
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	if got := a.GRPC().Connections(); got != n {
		t.Fatalf("connections: got %d, want %d", got, n)
	}
	if h := httpHosts(t, a, "many"); len(h) != n {
		t.Fatalf("instances: got %d, want %d", len(h), n)
	}
	for _, c := range clients {
		c.cc.Close()
	}
	el := await.True(t, 5*time.Second, "every connection and instance gone", func() bool {
		conns, held := a.GRPC().Leases().Held()
		return a.GRPC().Connections() == 0 && conns == 0 && held == 0 && len(httpHosts(t, a, "many")) == 0
	})
	t.Logf("%d connections dropped: all gone after %v", n, el)
	await.True(t, 5*time.Second, "goroutines back", func() bool { return runtime.NumGoroutine() <= before+20 })
}

// TestDoor_pushLatency measures, on three in-process nodes, the time from
// a registration's answer on one node to its push read by a subscriber on
// each of the others, and logs p50 and p99. A lost push would show as the
// topic's 30 s wait.
func TestDoor_pushLatency(t *testing.T) {
	cl := agenttest.NewCluster(t, 3, fast)
	subs := []*client{connect(t, cl.Agent("n1")), connect(t, cl.Agent("n2"))}
	for _, s := range subs {
		s.call("SubscribeServiceRequest", map[string]any{"requestId": "s", "serviceName": "timed", "subscribe": true})
	}
	writer := connect(t, cl.Agent("n0"))
	var lat []time.Duration
	const changes = 30
	for i := range changes {
		writer.register("timed", fmt.Sprintf("10.2.0.%d", i+1), 80)
		answered := time.Now()
		for _, s := range subs {
			for {
				n := s.recv("NotifySubscriberRequest", 5*time.Second)
				_ = s.stream.Send(raw("NotifySubscriberResponse", map[string]any{"requestId": n["requestId"], "resultCode": 200}))
				if len(hosts(n["serviceInfo"])) == i+1 {
					break
				}
			}
			lat = append(lat, time.Since(answered))
		}
	}
	slices.Sort(lat)
	p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
	t.Logf("push latency over %d pushes (from a registration's answer on n0 to its list read on n1 and n2): p50 %v, p99 %v", len(lat), p50, p99)
	if p99 > 5*time.Second {
		t.Fatalf("push p99 %v", p99)
	}
}
