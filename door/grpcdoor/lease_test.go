package grpcdoor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/internal/await"
)

// httpDeregister deletes ip:port of service through the Nacos v1 API.
func httpDeregister(t *testing.T, base, service, ip, port string) {
	t.Helper()
	v := url.Values{"serviceName": {service}, "ip": {ip}, "port": {port}}
	req, _ := http.NewRequest(http.MethodDelete, base+"/nacos/v1/ns/instance?"+v.Encode(), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

func TestDoor_deletionOfALiveConnectionsInstanceHealsAtTheNextRenewal(t *testing.T) {
	cl := agenttest.NewCluster(t, 3, fast)
	c := connect(t, cl.Agent("n0"))
	c.register("raced", "10.0.0.1", 80)
	// A deletion the client did not ask for, made on another node: what an
	// expiry racing the registration (or a lost owner) leaves behind.
	httpDeregister(t, agenttest.URL(cl.Agent("n1")), "raced", "10.0.0.1", "80")
	el := await.True(t, 2*time.Second, "the live connection's instance back on every node", func() bool {
		for _, a := range cl.Agents() {
			if len(httpHosts(t, a, "raced")) != 1 {
				return false
			}
		}
		return true
	})
	t.Logf("back %v after the deletion (lease interval 200ms)", el)
}

func TestDoor_batchReplacesTheConnectionsInstancesOfTheService(t *testing.T) {
	a := agenttest.Start(t, fast)
	c := connect(t, a)
	batch := func(ips ...string) {
		t.Helper()
		var ins []map[string]any
		for _, ip := range ips {
			ins = append(ins, map[string]any{"ip": ip, "port": 80, "healthy": true, "enabled": true, "ephemeral": true})
		}
		typ, body := c.call("BatchInstanceRequest", map[string]any{"requestId": "b", "namespace": "public",
			"serviceName": "batched", "groupName": "DEFAULT_GROUP", "type": "batchRegisterInstance", "instances": ins})
		if typ != "BatchInstanceResponse" || body["success"] != true {
			t.Fatalf("batch: got %s %v", typ, body)
		}
	}
	batch("10.0.0.1", "10.0.0.2")
	if h := httpHosts(t, a, "batched"); len(h) != 2 {
		t.Fatalf("first batch: got %v", h)
	}
	batch("10.0.0.2", "10.0.0.3")
	h := httpHosts(t, a, "batched")
	if len(h) != 2 || h[0]["ip"] != "10.0.0.2" || h[1]["ip"] != "10.0.0.3" {
		t.Fatalf("second batch: got %v", h)
	}
	typ, body := c.call("BatchInstanceRequest", map[string]any{"requestId": "b", "serviceName": "batched",
		"type": "batchRegisterInstance", "instances": []map[string]any{{"ip": "10.0.0.4", "port": 80}, {"ip": "10.0.0.300", "port": 80}}})
	if typ != "ErrorResponse" || body["errorCode"] != 400.0 || !strings.Contains(body["message"].(string), "instances[1].ip") {
		t.Fatalf("batch with a bad instance: got %s %v", typ, body)
	}
	if h := httpHosts(t, a, "batched"); len(h) != 2 {
		t.Fatalf("a refused batch changed the service: %v", h)
	}
}

func TestDoor_persistentInstanceOutlivesTheConnection(t *testing.T) {
	a := agenttest.Start(t, fast)
	c := connect(t, a)
	body := instanceReq("registerInstance", "durable", "10.0.0.1", 80)
	if typ, b := c.call("PersistentInstanceRequest", body); typ != "InstanceResponse" || b["success"] != true {
		t.Fatalf("persistent register: got %s %v", typ, b)
	}
	c.cc.Close()
	time.Sleep(4 * 200 * time.Millisecond) // past the lease timeout
	if h := httpHosts(t, a, "durable"); len(h) != 1 || h[0]["ephemeral"] != false {
		t.Fatalf("persistent instance after its connection closed: %v", h)
	}
}

func TestDoor_unacknowledgedPushIsSentAgain(t *testing.T) {
	a := agenttest.Start(t, fast)
	c := connect(t, a)
	c.call("SubscribeServiceRequest", map[string]any{"requestId": "s", "serviceName": "retried", "subscribe": true})
	httpRegister(t, a, "retried", "10.0.0.1", 80)
	first := c.recv("NotifySubscriberRequest", 2*time.Second)
	again := c.recv("NotifySubscriberRequest", 2*time.Second) // no ack sent: AckTimeout 300ms
	if first["requestId"] == again["requestId"] || len(hosts(again["serviceInfo"])) != 1 {
		t.Fatalf("retry: first %v, again %v", first, again)
	}
}

func TestDoor_leavingNodeResetsItsClients(t *testing.T) {
	cl := agenttest.NewCluster(t, 3, fast)
	c := connect(t, cl.Agent("n1"))
	c.register("moved", "10.0.0.1", 80)
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- cl.Agent("n1").Shutdown(ctx)
	}()
	r := c.recv("ConnectResetRequest", 5*time.Second)
	if r["serverIp"] != "" {
		t.Fatalf("reset names a server: %v", r)
	}
	// The client moves and registers again on the other node, which keeps
	// the instance listed whatever the leaving node did.
	moved := connect(t, cl.Agent("n0"))
	moved.register("moved", "10.0.0.1", 80)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	time.Sleep(4 * 200 * time.Millisecond)
	if h := httpHosts(t, cl.Agent("n0"), "moved"); len(h) != 1 {
		t.Fatalf("moved instance on the remaining node: %v", h)
	}
}

func TestDoor_subscriptionsPerConnectionAreBounded(t *testing.T) {
	a := agenttest.Start(t, fast, func(c *agent.Config) { c.GRPC.MaxSubscriptions = 3 })
	c := connect(t, a)
	sub := func(name string) (string, map[string]any) {
		return c.call("SubscribeServiceRequest", map[string]any{"requestId": "s", "serviceName": name, "subscribe": true})
	}
	for i := range 3 {
		if typ, body := sub(fmt.Sprint("s", i)); typ != "SubscribeServiceResponse" {
			t.Fatalf("subscription %d: %s %v", i, typ, body)
		}
	}
	if typ, _ := sub("s0"); typ != "SubscribeServiceResponse" {
		t.Fatal("subscribing again to a subscribed service was refused")
	}
	typ, body := sub("s3")
	if typ != "ErrorResponse" || body["errorCode"] != 429.0 || !strings.Contains(body["message"].(string), "subscriptions") {
		t.Fatalf("fourth subscription: got %s %v", typ, body)
	}
	c.call("SubscribeServiceRequest", map[string]any{"requestId": "u", "serviceName": "s1", "subscribe": false})
	if typ, body := sub("s3"); typ != "SubscribeServiceResponse" {
		t.Fatalf("subscription after an unsubscription: %s %v", typ, body)
	}
}

// TestDoor_resetIsReadBeforeClose: the resets a leaving node sends reach
// its clients even when the door closes right after: Reset returns once
// the client answered.
func TestDoor_resetIsReadBeforeClose(t *testing.T) {
	a := agenttest.Start(t, fast, func(c *agent.Config) { c.GRPC.AckTimeout = time.Minute })
	c := connect(t, a)
	got := make(chan error, 1)
	go func() {
		p, err := c.stream.Recv()
		for err == nil && p.GetMetadata().GetType() != "ConnectResetRequest" {
			p, err = c.stream.Recv()
		}
		if err != nil {
			got <- err
			return
		}
		var r map[string]any
		if err := json.Unmarshal(p.GetBody().GetValue(), &r); err != nil {
			got <- err
			return
		}
		got <- c.stream.Send(raw("ConnectResetResponse", map[string]any{"requestId": r["requestId"], "resultCode": 200, "success": true}))
	}()
	began := time.Now()
	a.GRPC().Reset()
	a.GRPC().Close()
	if err := <-got; err != nil {
		t.Fatalf("reset not read and answered before the door closed: %v", err)
	}
	if d := time.Since(began); d > 10*time.Second {
		t.Errorf("Reset took %v with the client answering", d)
	}
}
