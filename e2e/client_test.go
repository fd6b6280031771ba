package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	rc "github.com/roster-io/roster/client"
	"github.com/roster-io/roster/internal/await"
)

// ownerOf asks a node which member owns service, and returns its HTTP
// address.
func ownerOf(t *testing.T, addr, service string) string {
	t.Helper()
	n, err := rc.NewNode(rc.Config{Addrs: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	o, err := n.Owner(t.Context(), rc.Service{Name: service})
	if err != nil || o.OwnerAddr == "" {
		t.Fatalf("owner of %s: %+v %v", service, o, err)
	}
	return o.OwnerAddr
}

// TestClient_survivesNodeKill is the client's acceptance run against three
// agents: a program using package client registers through the node that
// owns its service (the node it beats to) and that node is SIGKILLed; on
// the survivors the instance never turns unhealthy (beat timeout 2 s,
// checked every 50 ms for 6 s). A watcher on one node sees a
// registration sent to another within 100 ms.
func TestClient_survivesNodeKill(t *testing.T) {
	agents := startCluster3(t)
	const service = "e2e-client"
	owner := ownerOf(t, agents[0].http, service)
	var victim *agent
	var survivors []*agent
	addrs := []string{"http://" + owner}
	for _, x := range agents {
		if x.http == owner {
			victim = x
			continue
		}
		survivors = append(survivors, x)
		addrs = append(addrs, "http://"+x.http)
	}
	c, err := rc.New(rc.Config{Addrs: addrs, MembersRefresh: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	ctx := context.Background()
	key := rc.InstanceKey{Service: rc.Service{Name: service}, IP: "127.0.0.1", Port: 9000}
	if _, err := c.Register(ctx, rc.Registration{InstanceKey: key, BeatInterval: 500 * time.Millisecond,
		BeatTimeout: 2 * time.Second, DeleteTimeout: 4 * time.Second}); err != nil {
		t.Fatal(err)
	}

	// The watcher: through the first survivor only.
	watcher, err := rc.New(rc.Config{Addrs: []string{"http://" + survivors[0].http}})
	if err != nil {
		t.Fatal(err)
	}
	defer watcher.Close(context.Background())
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch, err := watcher.WatchChan(wctx, rc.Query{Service: rc.Service{Name: service}})
	if err != nil {
		t.Fatal(err)
	}
	await.True(t, 5*time.Second, "watcher sees the instance", func() bool {
		select {
		case l := <-ch:
			return len(l) == 1
		default:
			return false
		}
	})
	// Registrations sent to the other survivor, seen by the watcher.
	var lags []time.Duration
	for i := range 10 {
		port := 9100 + i
		start := time.Now()
		code, body := call(http.MethodPost, survivors[1].http, "/nacos/v1/ns/instance",
			vals("serviceName", service, "ip", "127.0.0.1", "port", strconv.Itoa(port), "ephemeral", "false"))
		if code != 200 {
			t.Fatalf("register on %s: %d %s", survivors[1].name, code, body)
		}
		select {
		case l := <-ch:
			lag := time.Since(start)
			if !slices.ContainsFunc(l, func(in rc.Instance) bool { return in.Port == port }) {
				t.Fatalf("watcher got a list without port %d", port)
			}
			lags = append(lags, lag)
		case <-time.After(5 * time.Second):
			t.Fatalf("watcher on %s did not see a registration sent to %s", survivors[0].name, survivors[1].name)
		}
	}
	slices.Sort(lags)
	t.Logf("watcher on %s saw registrations sent to %s after: median %v, max %v (from sending the POST; 10 runs)",
		survivors[0].name, survivors[1].name, lags[len(lags)/2], lags[len(lags)-1])
	if lags[len(lags)/2] > 100*time.Millisecond {
		t.Fatalf("median watch lag %v, want within 100ms", lags[len(lags)/2])
	}

	before, _ := c.Beats(key)
	victim.sigkill(t)
	killed := time.Now()
	checks := 0
	for time.Since(killed) < 6*time.Second {
		for _, x := range survivors {
			code, body := call(http.MethodGet, x.http, "/v1/instance",
				url.Values{"service": {service}, "ip": {"127.0.0.1"}, "port": {"9000"}})
			var in struct {
				Healthy bool `json:"healthy"`
			}
			if code != 200 || json.Unmarshal([]byte(body), &in) != nil || !in.Healthy {
				t.Fatalf("%v after SIGKILL of %s (the owner), %s shows the instance: %d %s",
					time.Since(killed), victim.name, x.name, code, body)
			}
			checks++
		}
		time.Sleep(50 * time.Millisecond)
	}
	after, _ := c.Beats(key)
	t.Logf("healthy on both survivors in %d checks over 6 s after SIGKILL of the owner %s; %d beats acknowledged meanwhile",
		checks, victim.name, after-before)
	if after-before < 8 {
		t.Fatalf("only %d beats acknowledged in 6 s after the kill at a 500ms interval", after-before)
	}
}
