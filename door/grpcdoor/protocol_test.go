package grpcdoor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/door/grpcdoor/pb"
	"github.com/roster-io/roster/internal/await"
)

// fast makes the door's timers short for tests.
func fast(c *agent.Config) {
	c.GRPC.SetupTimeout = 5 * time.Second
	c.GRPC.LeaseInterval = 200 * time.Millisecond
	c.GRPC.AckTimeout = 300 * time.Millisecond
	c.GRPC.MaxPayloadBytes = 64 << 10
}

func TestDoor_registerQueryDeregister_oneRegistryWithHTTP(t *testing.T) {
	a := agenttest.Start(t, fast)
	c := connect(t, a)
	c.register("orders", "10.0.0.1", 8080)
	h := c.query("orders")
	if len(h) != 1 || h[0]["ip"] != "10.0.0.1" || h[0]["port"] != 8080.0 || h[0]["instanceId"] != "10.0.0.1#8080#DEFAULT#DEFAULT_GROUP@@orders" ||
		h[0]["serviceName"] != "DEFAULT_GROUP@@orders" || h[0]["healthy"] != true || h[0]["metadata"].(map[string]any)["v"] != "1" {
		t.Fatalf("query: got %v", h)
	}
	if h := httpHosts(t, a, "orders"); len(h) != 1 || h[0]["ip"] != "10.0.0.1" {
		t.Fatalf("v1 list of a gRPC registration: got %v", h)
	}
	httpRegister(t, a, "orders", "10.0.0.2", 8080)
	if h := c.query("orders"); len(h) != 2 {
		t.Fatalf("gRPC query of a v1 registration: got %v", h)
	}
	typ, body := c.call("ServiceListRequest", map[string]any{"requestId": "l", "namespace": "public", "groupName": "DEFAULT_GROUP", "pageNo": 1, "pageSize": 10})
	if typ != "ServiceListResponse" || body["count"] != 1.0 || body["serviceNames"].([]any)[0] != "orders" {
		t.Fatalf("service list: got %s %v", typ, body)
	}
	typ, body = c.call("InstanceRequest", instanceReq("deregisterInstance", "orders", "10.0.0.1", 8080))
	if typ != "InstanceResponse" || body["success"] != true {
		t.Fatalf("deregister: got %s %v", typ, body)
	}
	if h := httpHosts(t, a, "orders"); len(h) != 1 || h[0]["ip"] != "10.0.0.2" {
		t.Fatalf("after deregister: got %v", h)
	}
}

func TestDoor_leaseKeepsInstanceWithoutBeats(t *testing.T) {
	a := agenttest.Start(t, fast)
	c := connect(t, a)
	c.register("kept", "10.0.0.1", 1)
	// Three lease intervals is the instances' timeout; outlive it twice.
	time.Sleep(6 * 200 * time.Millisecond)
	if h := httpHosts(t, a, "kept"); len(h) != 1 {
		t.Fatalf("instance of an open connection: got %v", h)
	}
	if s := a.GRPC().Leases().Stats(); s.Renewed == 0 {
		t.Fatalf("no lease renewals: %+v", s)
	}
}

func TestDoor_closeDeregistersAtOnce(t *testing.T) {
	a := agenttest.Start(t, fast)
	c := connect(t, a)
	c.register("gone", "10.0.0.1", 1)
	c.register("gone", "10.0.0.2", 1)
	other := connect(t, a)
	other.register("gone", "10.0.0.3", 1)
	c.cc.Close()
	el := await.True(t, time.Second, "the closed connection's instances gone", func() bool {
		return len(httpHosts(t, a, "gone")) == 1
	})
	t.Logf("gone %v after the close", el)
	if h := httpHosts(t, a, "gone"); h[0]["ip"] != "10.0.0.3" {
		t.Fatalf("the other connection's instance: got %v", h)
	}
}

func TestDoor_unknownTypeAnswersAndKeepsTheConnection(t *testing.T) {
	a := agenttest.Start(t, fast)
	c := connect(t, a)
	typ, body := c.call("NoSuchRequest", map[string]any{"requestId": "x"})
	if typ != "ErrorResponse" || body["errorCode"] != 302.0 || body["requestId"] != "x" || !strings.Contains(body["message"].(string), "NoSuchRequest") {
		t.Fatalf("unknown type: got %s %v", typ, body)
	}
	if err := c.stream.Send(raw("NoSuchStreamRequest", map[string]any{"requestId": "y"})); err != nil {
		t.Fatal(err)
	}
	if e := c.recv("ErrorResponse", 2*time.Second); e["errorCode"] != 302.0 || e["requestId"] != "y" {
		t.Fatalf("unknown type on the stream: got %v", e)
	}
	c.register("still", "10.0.0.1", 1)
	if len(c.query("still")) != 1 {
		t.Fatal("connection unusable after unknown types")
	}
}

func TestDoor_badBodiesAreRefusedNamingTheProblem(t *testing.T) {
	a := agenttest.Start(t, fast)
	c := connect(t, a)
	cases := []struct {
		name string
		body any
		want string
	}{
		{"malformed JSON", []byte(`{"serviceName": "x", `), "malformed JSON"},
		{"wrong JSON type", []byte(`{"serviceName": 5}`), "malformed JSON"},
		{"bad ip", instanceReq("registerInstance", "bad", "10.0.0.300", 1), "instance.ip"},
		{"bad port", instanceReq("registerInstance", "bad", "10.0.0.1", 70000), "instance.port"},
		{"bad type", instanceReq("nope", "bad", "10.0.0.1", 1), "type"},
		{"no service", instanceReq("registerInstance", "", "10.0.0.1", 1), "serviceName"},
	}
	for _, tc := range cases {
		typ, body := c.call("InstanceRequest", tc.body)
		if typ != "ErrorResponse" || body["errorCode"] != 400.0 || !strings.Contains(body["message"].(string), tc.want) {
			t.Errorf("%s: got %s %v, want a 400 naming %q", tc.name, typ, body, tc.want)
		}
	}
	if h := httpHosts(t, a, "bad"); len(h) != 0 {
		t.Fatalf("a refused request registered: %v", h)
	}
}

func TestDoor_oversizePayloadIsRefusedAndConnectionLives(t *testing.T) {
	a := agenttest.Start(t, fast)
	c := connect(t, a)
	big := instanceReq("registerInstance", "big", "10.0.0.1", 1)
	big["instance"].(map[string]any)["metadata"] = map[string]string{"pad": strings.Repeat("x", 128<<10)}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := c.req.Request(ctx, raw("InstanceRequest", big))
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("oversize payload: got %v, want ResourceExhausted", err)
	}
	c.register("big", "10.0.0.2", 1)
	if h := c.query("big"); len(h) != 1 || h[0]["ip"] != "10.0.0.2" {
		t.Fatalf("after the oversize payload: got %v", h)
	}
}

func TestDoor_requestBeforeSetupAndSetupTimeout(t *testing.T) {
	a := agenttest.Start(t, fast, func(c *agent.Config) { c.GRPC.SetupTimeout = 300 * time.Millisecond })
	c := dial(t, a)
	typ, body := c.call("ServerCheckRequest", map[string]any{"requestId": "1"})
	if typ != "ServerCheckResponse" || body["connectionId"] == "" {
		t.Fatalf("server check: %s %v", typ, body)
	}
	typ, body = c.call("InstanceRequest", instanceReq("registerInstance", "early", "10.0.0.1", 1))
	if typ != "ErrorResponse" || body["errorCode"] != 301.0 {
		t.Fatalf("request before setup: got %s %v, want 301", typ, body)
	}
	s, err := pb.NewBiRequestStreamClient(c.cc).RequestBiStream(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	errc := make(chan error, 1)
	go func() {
		_, err := s.Recv()
		errc <- err
	}()
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("stream without setup got a message instead of closing")
		}
		t.Logf("stream without setup closed after %v: %v", time.Since(start), err)
	case <-time.After(5 * time.Second):
		t.Fatal("stream without setup still open after 5s (setup timeout 300ms)")
	}
}

// gRPC subscribers are listed by Nacos v1's service/subscribers, with
// the fields Nacos 2.x gives them, and leave the list when they
// unsubscribe or their connection closes.
func TestDoor_subscribersListedOverHTTP(t *testing.T) {
	a := agenttest.Start(t, fast)
	c := connect(t, a)
	p := raw("SubscribeServiceRequest", map[string]any{"requestId": "s", "namespace": "public",
		"serviceName": "watched", "groupName": "DEFAULT_GROUP", "subscribe": true, "clusters": "DEFAULT"})
	p.Metadata.Headers = map[string]string{"app": "orders-app"}
	if out, err := c.req.Request(context.Background(), p); err != nil || out.GetMetadata().GetType() != "SubscribeServiceResponse" {
		t.Fatalf("subscribe: %v %v", out, err)
	}
	other := connect(t, a)
	other.call("SubscribeServiceRequest", map[string]any{"requestId": "s", "serviceName": "watched", "subscribe": true})
	list := func() map[string]any {
		resp, err := http.Get(agenttest.URL(a) + "/nacos/v1/ns/service/subscribers?serviceName=watched")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 200 {
			t.Fatalf("subscribers: %d %v", resp.StatusCode, err)
		}
		return body
	}
	body := list()
	subs, _ := body["subscribers"].([]any)
	if body["count"] != 2.0 || len(subs) != 2 {
		t.Fatalf("subscribers: got %v, want 2", body)
	}
	var apps []string
	for _, s := range subs {
		m := s.(map[string]any)
		if m["ip"] != "127.0.0.1" || m["addrStr"] != "127.0.0.1" || m["agent"] != "test" || m["port"] != 0.0 ||
			m["namespaceId"] != "public" || m["serviceName"] != "DEFAULT_GROUP@@watched" {
			t.Fatalf("subscriber: got %v", m)
		}
		apps = append(apps, fmt.Sprint(m["app"], "/", m["cluster"]))
	}
	slices.Sort(apps)
	if apps[0] != "orders-app/DEFAULT" || apps[1] != "unknown/" {
		t.Fatalf("subscribers' app/cluster: got %v", apps)
	}
	other.call("SubscribeServiceRequest", map[string]any{"requestId": "u", "serviceName": "watched", "subscribe": false})
	c.cc.Close()
	await.True(t, 5*time.Second, "subscribers gone", func() bool { return list()["count"] == 0.0 })
}
