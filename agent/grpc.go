package agent

import (
	"fmt"
	"net"
	"strconv"

	"github.com/roster-io/roster/door/grpcdoor"
	nacosdoor "github.com/roster-io/roster/door/nacos"
	"github.com/roster-io/roster/store"
)

// The Nacos 2.x gRPC door (package door/grpcdoor) on its own port: by
// default the HTTP port + 1000, as Nacos (8848 and 9848).

// GRPCAuto and GRPCOff are the special values of Config.GRPCAddr.
const (
	GRPCAuto = "auto"
	GRPCOff  = "off"
)

// newGRPC builds the gRPC door unless it is off.
func (a *Agent) newGRPC() error {
	if a.cfg.GRPCAddr == GRPCOff {
		return nil
	}
	gc := a.cfg.GRPC
	gc.TLS, gc.Registry, gc.Logger, gc.Now = a.cfg.TLS, a.reg, a.cfg.Logger, a.cfg.Now
	d, err := grpcdoor.New(gc, a.node, a.gate)
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	a.grpc = d
	a.nacos.SetSubscribers(func(k store.Key) []nacosdoor.Subscriber {
		subs := d.Subscribers(k)
		out := make([]nacosdoor.Subscriber, len(subs))
		for i, s := range subs {
			out[i] = nacosdoor.Subscriber{Addr: s.IP, Agent: s.Agent, App: s.App, IP: s.IP, Cluster: s.Clusters}
		}
		return out
	})
	return nil
}

// grpcAddr is where the gRPC door listens: GRPCAddr, or for "auto" the
// HTTP host and port + 1000 (port 0 when the HTTP port was chosen at
// random).
func (c *Config) grpcAddr() (string, error) {
	if c.GRPCAddr != GRPCAuto {
		return c.GRPCAddr, nil
	}
	host, port, err := net.SplitHostPort(c.HTTPAddr)
	if err != nil {
		return "", fmt.Errorf("agent: config: http address %q: %w", c.HTTPAddr, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p+1000 > 65535 {
		return "", fmt.Errorf("agent: config: --grpc auto: the HTTP port %s + 1000 is no port; set --grpc", port)
	}
	if p == 0 {
		return net.JoinHostPort(host, "0"), nil
	}
	return net.JoinHostPort(host, strconv.Itoa(p+1000)), nil
}

// startGRPC listens on the gRPC address and serves the door.
func (a *Agent) startGRPC() error {
	if a.grpc == nil {
		return nil
	}
	addr, err := a.cfg.grpcAddr()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("agent: listen grpc %s: %w", addr, err)
	}
	return a.grpc.Start(ln)
}

// GRPCAddr returns the bound gRPC address, or "" when the door is off or
// not started.
func (a *Agent) GRPCAddr() string {
	if a.grpc == nil {
		return ""
	}
	return a.grpc.Addr()
}

// GRPC returns the gRPC door, or nil when it is off.
func (a *Agent) GRPC() *grpcdoor.Door { return a.grpc }

// closeGRPC stops the gRPC door, if any.
func (a *Agent) closeGRPC() {
	if a.grpc != nil {
		a.grpc.Close()
	}
}

// resetGRPC asks the gRPC clients to move to other nodes, before this
// one leaves.
func (a *Agent) resetGRPC() {
	if a.grpc != nil {
		a.grpc.Reset()
	}
}
