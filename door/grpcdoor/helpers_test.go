package grpcdoor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/door/grpcdoor/pb"
)

// client is a raw Nacos 2.x protocol client: one transport, its unary
// stub and (after setup) its stream.
type client struct {
	t      testing.TB
	cc     *grpc.ClientConn
	req    pb.RequestClient
	stream pb.BiRequestStream_RequestBiStreamClient
	connID string
	token  string
}

// dial opens a transport to the agent's gRPC door.
func dial(t testing.TB, a *agent.Agent) *client {
	t.Helper()
	cc, err := grpc.NewClient(a.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return &client{t: t, cc: cc, req: pb.NewRequestClient(cc)}
}

// connect dials, checks the server and sets up the connection.
func connect(t testing.TB, a *agent.Agent) *client {
	t.Helper()
	c := dial(t, a)
	c.setup()
	return c
}

func (c *client) setup() {
	c.t.Helper()
	typ, body := c.call("ServerCheckRequest", map[string]any{"requestId": "1", "module": "internal"})
	if typ != "ServerCheckResponse" || body["connectionId"] == "" {
		c.t.Fatalf("server check: got %s %v", typ, body)
	}
	c.connID = body["connectionId"].(string)
	s, err := pb.NewBiRequestStreamClient(c.cc).RequestBiStream(context.Background())
	if err != nil {
		c.t.Fatal(err)
	}
	c.stream = s
	if err := s.Send(raw("ConnectionSetupRequest", map[string]any{"clientVersion": "test", "labels": map[string]string{"source": "sdk"}})); err != nil {
		c.t.Fatal(err)
	}
	c.awaitSetup()
}

// awaitSetup waits until the server has taken the setup, which it handles
// asynchronously: until then requests get 301.
func (c *client) awaitSetup() {
	c.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		typ, body := c.call("HealthCheckRequest", map[string]any{"requestId": "2"})
		if typ == "HealthCheckResponse" {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("setup not taken: %s %v", typ, body)
		}
		time.Sleep(time.Millisecond)
	}
}

// raw builds a payload of typ with body v (bytes are sent as they are).
func raw(typ string, v any) *pb.Payload {
	b, ok := v.([]byte)
	if !ok {
		b, _ = json.Marshal(v)
	}
	return &pb.Payload{Metadata: &pb.Metadata{Type: typ, ClientIp: "127.0.0.1"}, Body: &anypb.Any{Value: b}}
}

// call sends a unary request and returns the answer's type and body.
func (c *client) call(typ string, v any) (string, map[string]any) {
	c.t.Helper()
	p := raw(typ, v)
	if c.token != "" {
		p.Metadata.Headers = map[string]string{"accessToken": c.token}
	}
	// Generous: a registration waits up to 2 s for its replication, and
	// CI machines run loaded.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	out, err := c.req.Request(ctx, p)
	if err != nil {
		c.t.Fatalf("%s: %v", typ, err)
	}
	var body map[string]any
	if err := json.Unmarshal(out.GetBody().GetValue(), &body); err != nil {
		c.t.Fatalf("%s: answer body: %v", typ, err)
	}
	return out.GetMetadata().GetType(), body
}

// instanceReq is an InstanceRequest body.
func instanceReq(typ, service, ip string, port int) map[string]any {
	return map[string]any{"requestId": "r", "namespace": "public", "serviceName": service, "groupName": "DEFAULT_GROUP",
		"module": "naming", "type": typ,
		"instance": map[string]any{"ip": ip, "port": port, "weight": 1, "healthy": true, "enabled": true, "ephemeral": true,
			"clusterName": "DEFAULT", "metadata": map[string]string{"v": "1"}}}
}

// register registers ip:port in service through c and fails the test
// unless it succeeded.
func (c *client) register(service, ip string, port int) {
	c.t.Helper()
	typ, body := c.call("InstanceRequest", instanceReq("registerInstance", service, ip, port))
	if typ != "InstanceResponse" || body["resultCode"] != 200.0 {
		c.t.Fatalf("register: got %s %v", typ, body)
	}
}

// query lists service through c.
func (c *client) query(service string) []map[string]any {
	c.t.Helper()
	typ, body := c.call("ServiceQueryRequest", map[string]any{"requestId": "q", "namespace": "public",
		"serviceName": service, "groupName": "DEFAULT_GROUP"})
	if typ != "QueryServiceResponse" {
		c.t.Fatalf("query: got %s %v", typ, body)
	}
	return hosts(body["serviceInfo"])
}

func hosts(info any) []map[string]any {
	var out []map[string]any
	m, _ := info.(map[string]any)
	list, _ := m["hosts"].([]any)
	for _, h := range list {
		out = append(out, h.(map[string]any))
	}
	return out
}

// httpHosts lists service through a's Nacos v1 HTTP API.
func httpHosts(t testing.TB, a *agent.Agent, service string) []map[string]any {
	t.Helper()
	resp, err := http.Get(agenttest.URL(a) + "/nacos/v1/ns/instance/list?" + url.Values{"serviceName": {service}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("list %s: %d %s", service, resp.StatusCode, b)
	}
	var body map[string]any
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatal(err)
	}
	return hosts(body)
}

// httpRegister registers ip:port through a's Nacos v1 HTTP API.
func httpRegister(t testing.TB, a *agent.Agent, service, ip string, port int) {
	t.Helper()
	v := url.Values{"serviceName": {service}, "ip": {ip}, "port": {fmt.Sprint(port)}}
	resp, err := http.Post(agenttest.URL(a)+"/nacos/v1/ns/instance?"+v.Encode(), "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("http register: %d %s", resp.StatusCode, b)
	}
}

// recv reads the stream's next server request of type typ within d,
// skipping others.
func (c *client) recv(typ string, d time.Duration) map[string]any {
	c.t.Helper()
	type res struct {
		p   *pb.Payload
		err error
	}
	deadline := time.After(d)
	for {
		ch := make(chan res, 1)
		go func() { p, err := c.stream.Recv(); ch <- res{p, err} }()
		select {
		case r := <-ch:
			if r.err != nil {
				c.t.Fatalf("stream: %v", r.err)
			}
			if r.p.GetMetadata().GetType() != typ {
				continue
			}
			var body map[string]any
			if err := json.Unmarshal(r.p.GetBody().GetValue(), &body); err != nil {
				c.t.Fatal(err)
			}
			return body
		case <-deadline:
			c.t.Fatalf("no %s within %v", typ, d)
			return nil
		}
	}
}
