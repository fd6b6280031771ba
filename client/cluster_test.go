package client

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/api"
	"github.com/roster-io/roster/internal/await"
)

// startCluster starts n in-process nodes joined into one cluster and
// returns their base URLs; the test's cleanup shuts them down.
func startCluster(t *testing.T, size int) ([]*agent.Agent, []string) {
	t.Helper()
	nodes := agenttest.NewCluster(t, size).Agents()
	var urls []string
	for _, n := range nodes {
		urls = append(urls, agenttest.URL(n))
	}
	c, err := New(Config{Addrs: urls})
	if err != nil {
		t.Fatal(err)
	}
	defer closeClient(t, c)
	await.True(t, 15*time.Second, "every node ready with every member alive", func() bool {
		for _, u := range urls {
			one, _ := New(Config{Addrs: []string{u}, Attempts: 1})
			ms, err := one.Members(t.Context())
			alive := 0
			for _, m := range ms {
				if m.State == "alive" {
					alive++
				}
			}
			if err != nil || alive != size {
				return false
			}
		}
		return true
	})
	return nodes, urls
}

// TestClient_realCluster runs the client against three in-process nodes:
// it computes the same owners as the nodes, its registration is on every
// node, a watcher on one node sees a registration made on another at
// once, and WaitGone returns once every node dropped a deregistration.
func TestClient_realCluster(t *testing.T) {
	_, urls := startCluster(t, 3)
	c, err := New(Config{Addrs: urls})
	if err != nil {
		t.Fatal(err)
	}
	defer closeClient(t, c)
	ctx := t.Context()
	// The nodes' rings settle shortly after they all list each other (a
	// node may still be confirming a peer); from then on the client's
	// table and the nodes agree on every owner.
	await.Explain(t, 20*time.Second, "the client and the nodes agree on the owners", func() (bool, string) {
		if err := c.refreshRing(ctx, true); err != nil {
			return false, err.Error()
		}
		for i := range 20 {
			s := Service{Name: fmt.Sprintf("svc-%d", i)}
			var want api.Owner
			if err := c.do(ctx, request{method: "GET", path: "/v1/cluster/owner", query: map[string][]string{"service": {s.Name}}}, &want); err != nil {
				return false, err.Error()
			}
			if got, ok := c.ownerURL(s); !ok || got.Host != want.OwnerAddr {
				return false, fmt.Sprintf("owner of %s: client says %v, the node %s", s.Name, got, want.OwnerAddr)
			}
		}
		return true, ""
	})

	if _, err := c.Register(ctx, Registration{InstanceKey: orders, BeatInterval: 200 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	for _, u := range urls {
		one, _ := New(Config{Addrs: []string{u}, Attempts: 1})
		await.True(t, 2*time.Second, "registered instance on "+u, func() bool {
			l, err := one.List(ctx, Query{Service: orders.Service})
			return err == nil && len(l) == 1 && l[0].Healthy
		})
	}

	// Watch through the first node, register through the last.
	watcher, _ := New(Config{Addrs: urls[:1]})
	defer closeClient(t, watcher)
	ch, err := watcher.WatchChan(ctx, Query{Service: orders.Service})
	if err != nil {
		t.Fatal(err)
	}
	if l := <-ch; len(l) != 1 {
		t.Fatalf("watch: first list has %d instances, want 1", len(l))
	}
	writer, _ := New(Config{Addrs: urls[2:]})
	defer closeClient(t, writer)
	other := orders
	other.Port = 9090
	start := time.Now()
	if _, err := writer.Register(ctx, Registration{InstanceKey: other}); err != nil {
		t.Fatal(err)
	}
	select {
	case l := <-ch:
		lag := time.Since(start)
		t.Logf("watcher on n0 saw a registration sent to n2 %v after the POST was sent", lag)
		if len(l) != 2 || lag > time.Second {
			t.Fatalf("watch: got %d instances after %v, want 2 within 1s", len(l), lag)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("watcher did not see the registration on another node")
	}

	if err := writer.Deregister(ctx, other); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := writer.WaitGone(wctx, other); err != nil {
		t.Fatalf("WaitGone: %v", err)
	}
	for _, u := range urls {
		one, _ := New(Config{Addrs: []string{u}, Attempts: 1})
		l, err := one.List(ctx, Query{Service: orders.Service})
		if err != nil || len(l) != 1 || l[0].Port != 8080 {
			t.Fatalf("after WaitGone %s lists %v (%v), want only 8080", u, l, err)
		}
	}
	await.True(t, 5*time.Second, "beats acknowledged", func() bool {
		beats, _ := c.Beats(orders)
		return beats >= 2
	})
}
