package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/roster-io/roster/door/grpcdoor/pb"
)

// The ACL prober's gRPC door: one Nacos 2.x connection to the guard, set
// up once, over which instance requests carry the bad tokens in their
// accessToken header.

// aclGRPC is a set-up connection to the guard's gRPC door.
type aclGRPC struct {
	cc     *grpc.ClientConn
	req    pb.RequestClient
	cancel context.CancelFunc // ends the bi-stream
}

func grpcPayload(typ string, v any, token string) *pb.Payload {
	b, _ := json.Marshal(v)
	p := &pb.Payload{Metadata: &pb.Metadata{Type: typ, ClientIp: "127.0.0.1"}, Body: &anypb.Any{Value: b}}
	if token != "" {
		p.Metadata.Headers = map[string]string{"accessToken": token}
	}
	return p
}

// call sends one unary request and returns the answer's type and body.
func (g *aclGRPC) call(typ string, v any, token string) (string, map[string]any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	out, err := g.req.Request(ctx, grpcPayload(typ, v, token))
	if err != nil {
		return "", nil, err
	}
	var body map[string]any
	err = json.Unmarshal(out.GetBody().GetValue(), &body)
	return out.GetMetadata().GetType(), body, err
}

// dialACLGRPC connects to addr and sets the connection up.
func dialACLGRPC(addr string) (*aclGRPC, error) {
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	g := &aclGRPC{cc: cc, req: pb.NewRequestClient(cc)}
	if _, _, err := g.call("ServerCheckRequest", map[string]any{"requestId": "1", "module": "internal"}, ""); err != nil {
		cc.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	g.cancel = cancel
	s, err := pb.NewBiRequestStreamClient(cc).RequestBiStream(ctx)
	if err == nil {
		err = s.Send(grpcPayload("ConnectionSetupRequest", map[string]any{"clientVersion": "chaos", "labels": map[string]string{"source": "sdk"}}, ""))
	}
	for i := 0; err == nil && i < 100; i++ { // the setup is taken asynchronously
		var typ string
		if typ, _, err = g.call("HealthCheckRequest", map[string]any{"requestId": "2"}, ""); typ == "HealthCheckResponse" {
			return g, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	g.close()
	return nil, fmt.Errorf("grpc setup not taken: %v", err)
}

func (g *aclGRPC) close() {
	g.cancel()
	g.cc.Close()
}

// attempt sends an instance request of typ about service with token and
// returns it as an ACLAttempt's code: the response's error code, or 200.
func (g *aclGRPC) attempt(typ, service, token string) int {
	req := map[string]any{"requestId": "r", "namespace": "public", "serviceName": service, "groupName": "DEFAULT_GROUP",
		"module": "naming", "type": typ, "instance": map[string]any{"ip": "10.7.0.1", "port": 80, "weight": 1, "healthy": true,
			"enabled": true, "ephemeral": true, "clusterName": "DEFAULT"}}
	_, body, err := g.call("InstanceRequest", req, token)
	if err != nil {
		return 0
	}
	if c, ok := body["errorCode"].(float64); ok && c != 0 {
		return int(c)
	}
	if c, ok := body["resultCode"].(float64); ok {
		return int(c)
	}
	return 0
}
