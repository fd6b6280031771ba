package grpcdoor_test

import (
	"context"
	"crypto/tls"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/door/grpcdoor/pb"
	"github.com/roster-io/roster/internal/testpki"
)

func TestDoor_servesTheHTTPPortsTLS(t *testing.T) {
	pki, err := testpki.New()
	if err != nil {
		t.Fatal(err)
	}
	a := agenttest.Start(t, fast, func(c *agent.Config) {
		c.GossipAddr = ""
		c.TLS = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pki.Server}}
	})
	creds := credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pki.Pool})
	cc, err := grpc.NewClient(a.GRPCAddr(), grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	c := &client{t: t, cc: cc, req: pb.NewRequestClient(cc)}
	c.setup()
	c.register("secure", "10.0.0.1", 80)
	if h := c.query("secure"); len(h) != 1 {
		t.Fatalf("over TLS: got %v", h)
	}
	plain, err := grpc.NewClient(a.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := pb.NewRequestClient(plain).Request(ctx, raw("ServerCheckRequest", map[string]any{})); err == nil {
		t.Fatal("a plaintext client was served by a TLS node")
	}
}
