package bench

// The grpc mode holds instances bound to Nacos 2.x gRPC connections and,
// side by side in the same run, the same number of instances beating over
// HTTP, and compares what each costs the agents in CPU (a --local cluster:
// user + system time from /proc). It also times pushes: a subscriber on
// every node, a probe instance registered on one node, the time until
// each subscriber reads the new list.

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/roster-io/roster/door/grpcdoor/pb"
	"github.com/roster-io/roster/internal/await"
)

// GRPCConfig configures the grpc mode.
type GRPCConfig struct {
	Instances   int
	Connections int
	// Interval is the beat interval of the HTTP instances compared.
	Interval time.Duration
	// Pushes is how many probe changes are timed.
	Pushes int
	// GRPCAddrs are the nodes' gRPC addresses, in the order of
	// env.Client.Addrs. Default: each HTTP port + 1000.
	GRPCAddrs []string
}

// grpcAddrOf returns the gRPC address of node i.
func (c GRPCConfig) grpcAddrOf(env *Env, i int) (string, error) {
	if len(c.GRPCAddrs) > 0 {
		return c.GRPCAddrs[i%len(c.GRPCAddrs)], nil
	}
	return grpcAddr(env.Client.Addrs[i%len(env.Client.Addrs)])
}

// grpcConn is one raw protocol connection.
type grpcConn struct {
	cc     *grpc.ClientConn
	req    pb.RequestClient
	stream pb.BiRequestStream_RequestBiStreamClient
}

// grpcAddr is the gRPC address of an HTTP base URL: its port + 1000.
func grpcAddr(base string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	p, err := strconv.Atoi(u.Port())
	if err != nil {
		return "", fmt.Errorf("bench: grpc: %s has no port", base)
	}
	return net.JoinHostPort(u.Hostname(), strconv.Itoa(p+1000)), nil
}

func gpayload(typ string, v any) *pb.Payload {
	b, _ := json.Marshal(v)
	return &pb.Payload{Metadata: &pb.Metadata{Type: typ}, Body: &anypb.Any{Value: b}}
}

// call sends one unary request and returns the answer's type and body.
func (g *grpcConn) call(ctx context.Context, typ string, v any) (string, map[string]any, error) {
	out, err := g.req.Request(ctx, gpayload(typ, v))
	if err != nil {
		return "", nil, err
	}
	var body map[string]any
	if err := json.Unmarshal(out.GetBody().GetValue(), &body); err != nil {
		return "", nil, err
	}
	return out.GetMetadata().GetType(), body, nil
}

// answer replies to what the server sends on the connection's stream
// (ClientDetectionRequest above all, which a connection silent for 20 s
// gets and must answer or be closed), as a real client does, until the
// stream ends.
func (g *grpcConn) answer() {
	for {
		p, err := g.stream.Recv()
		if err != nil {
			return
		}
		typ := p.GetMetadata().GetType()
		if !strings.HasSuffix(typ, "Request") {
			continue
		}
		var r struct {
			RequestID string `json:"requestId"`
		}
		_ = json.Unmarshal(p.GetBody().GetValue(), &r)
		resp := strings.TrimSuffix(typ, "Request") + "Response"
		if err := g.stream.Send(gpayload(resp, map[string]any{"requestId": r.RequestID, "resultCode": 200, "success": true})); err != nil {
			return
		}
	}
}

// dialGRPC opens and sets up a connection to addr.
func dialGRPC(ctx context.Context, addr string) (*grpcConn, error) {
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	g := &grpcConn{cc: cc, req: pb.NewRequestClient(cc)}
	fail := func(err error) (*grpcConn, error) {
		cc.Close()
		return nil, fmt.Errorf("bench: grpc %s: %w", addr, err)
	}
	if _, _, err := g.call(ctx, "ServerCheckRequest", map[string]any{}); err != nil {
		return fail(err)
	}
	if g.stream, err = pb.NewBiRequestStreamClient(cc).RequestBiStream(ctx); err != nil {
		return fail(err)
	}
	if err := g.stream.Send(gpayload("ConnectionSetupRequest", map[string]any{"clientVersion": "roster-bench"})); err != nil {
		return fail(err)
	}
	for range 500 {
		typ, _, err := g.call(ctx, "HealthCheckRequest", map[string]any{})
		if err != nil {
			return fail(err)
		}
		if typ == "HealthCheckResponse" {
			return g, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fail(fmt.Errorf("setup not taken"))
}

// cpuTicks sums the user and system CPU of pids in clock ticks (1/100 s
// on Linux).
func cpuTicks(pids []int) (int64, error) {
	var sum int64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return 0, fmt.Errorf("bench: cpu of %d: %w", pid, err)
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		if len(f) < 13 {
			return 0, fmt.Errorf("bench: cpu of %d: short stat", pid)
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		sum += u + st
	}
	return sum, nil
}

// agentCPU returns the agents' CPU over d, in ms of CPU per second, or -1
// without PIDs.
func agentCPU(ctx context.Context, env *Env, d time.Duration) float64 {
	if env.PIDs == nil {
		_ = waitFor(ctx, d)
		return -1
	}
	a, err := cpuTicks(env.PIDs())
	start := time.Now()
	_ = waitFor(ctx, d)
	b, err2 := cpuTicks(env.PIDs())
	if err != nil || err2 != nil {
		return -1
	}
	return float64(b-a) * 10 / time.Since(start).Seconds()
}

// GRPC runs the grpc mode: the agents idle, the gRPC hold (with the push
// timing), then the HTTP hold, each measured over env.Duration.
func GRPC(ctx context.Context, env *Env, cfg GRPCConfig) (*Report, error) {
	if cfg.Instances <= 0 || cfg.Connections <= 0 || cfg.Connections > cfg.Instances || cfg.Interval <= 0 {
		return nil, fmt.Errorf("bench: grpc: need 0 < connections <= instances and interval > 0")
	}
	started := time.Now()
	r := &Report{Mode: "grpc", Params: env.params()}
	r.Params["instances"], r.Params["connections"] = strconv.Itoa(cfg.Instances), strconv.Itoa(cfg.Connections)
	r.Params["interval"], r.Params["hold"] = cfg.Interval.String(), env.Duration.String()
	prefix := "bench-grpc-" + runID() + "-"
	idleCPU := agentCPU(ctx, env, env.Duration)
	conns, regTime, err := grpcHold(ctx, env, cfg, prefix)
	defer func() {
		for _, g := range conns {
			g.cc.Close()
		}
	}()
	if err != nil {
		return finish(r, started), err
	}
	r.AddMs("grpc registration of all instances", regTime)
	grpcCPU := agentCPU(ctx, env, env.Duration)
	if err := grpcPushes(ctx, env, cfg, prefix, r); err != nil {
		r.Notes = append(r.Notes, "push timing: "+err.Error())
	}
	for _, g := range conns {
		g.cc.Close()
	}
	conns = nil
	gone := time.Now()
	if err := waitNoneListed(ctx, env, prefix+"s"); err != nil {
		r.Notes = append(r.Notes, "instances of closed connections still listed: "+err.Error())
	}
	r.AddMs("every node lists none after the connections closed", time.Since(gone))
	httpCPU, err := httpHold(ctx, env, cfg, "bench-grpc-http-"+runID()+"-")
	if err != nil {
		r.Notes = append(r.Notes, "http hold: "+err.Error())
	}
	if idleCPU >= 0 && grpcCPU >= 0 && httpCPU >= 0 {
		per := float64(cfg.Instances) / 1000
		r.Add("agent CPU, every node, idle (subtracted below)", idleCPU, "ms/s")
		r.Add("agent CPU per 1000 instances, gRPC connections", (grpcCPU-idleCPU)/per, "ms/s")
		r.Add("agent CPU per 1000 instances, HTTP beats", (httpCPU-idleCPU)/per, "ms/s")
	} else {
		r.Notes = append(r.Notes, "agent CPU needs a --local cluster")
	}
	return finish(r, started), nil
}

// grpcHold opens the connections round-robin over the nodes and registers
// the instances, a thousand per service.
func grpcHold(ctx context.Context, env *Env, cfg GRPCConfig, prefix string) ([]*grpcConn, time.Duration, error) {
	conns := make([]*grpcConn, cfg.Connections)
	start := time.Now()
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	workers := min(env.Concurrency, cfg.Connections)
	for w := range workers {
		wg.Go(func() {
			for ci := w; ci < cfg.Connections; ci += workers {
				err := grpcConnRegister(ctx, env, cfg, prefix, ci, conns)
				if err != nil {
					mu.Lock()
					first = cmpOrErr(first, err)
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	return conns, time.Since(start), first
}

func grpcConnRegister(ctx context.Context, env *Env, cfg GRPCConfig, prefix string, ci int, conns []*grpcConn) error {
	addr, err := cfg.grpcAddrOf(env, ci)
	if err != nil {
		return err
	}
	g, err := dialGRPC(ctx, addr)
	if err != nil {
		return err
	}
	conns[ci] = g
	go g.answer()
	for i := ci; i < cfg.Instances; i += cfg.Connections {
		typ, body, err := g.call(ctx, "InstanceRequest", map[string]any{"serviceName": prefix + "s" + strconv.Itoa(i/1000),
			"namespace": Namespace, "type": "registerInstance", "instance": map[string]any{"ip": instanceIP(i), "port": 8080}})
		if err != nil {
			return err
		}
		if typ != "InstanceResponse" {
			return fmt.Errorf("bench: grpc register: %s %v", typ, body)
		}
	}
	return nil
}

// waitNoneListed waits until no node lists an instance of a service
// named with prefix.
func waitNoneListed(ctx context.Context, env *Env, prefix string) error {
	_, err := await.Until(ctx, 20*time.Millisecond, 30*time.Second, func() bool {
		for _, a := range env.Client.Addrs {
			nd, err := env.Client.node(a)
			if err != nil {
				return false
			}
			svcs, err := nd.Services(ctx, Namespace, "")
			if n, _ := hasPrefixCount(svcs, prefix); err != nil || n > 0 {
				return false
			}
		}
		return true
	})
	return err
}

func cmpOrErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// grpcPushes subscribes one connection per node to a probe service and
// times cfg.Pushes registrations on the first node until every
// subscriber reads the new list.
func grpcPushes(ctx context.Context, env *Env, cfg GRPCConfig, prefix string, r *Report) error {
	probe := prefix + "probe"
	var subs []*grpcConn
	defer func() {
		for _, s := range subs {
			s.cc.Close()
		}
	}()
	for i := range env.Client.Addrs {
		addr, err := cfg.grpcAddrOf(env, i)
		if err != nil {
			return err
		}
		g, err := dialGRPC(ctx, addr)
		if err != nil {
			return err
		}
		subs = append(subs, g)
		if _, _, err := g.call(ctx, "SubscribeServiceRequest", map[string]any{"serviceName": probe, "namespace": Namespace, "subscribe": true}); err != nil {
			return err
		}
	}
	var lat Latencies
	for i := range cfg.Pushes {
		form := registerForm(probe, i, false, longLived)
		if err := env.Client.Form(ctx, http.MethodPost, env.Client.Addrs[0], "/nacos/v1/ns/instance", form); err != nil {
			return err
		}
		answered := time.Now()
		for _, s := range subs {
			if err := awaitList(s, i+1); err != nil {
				return err
			}
			lat = append(lat, time.Since(answered))
		}
	}
	slices.Sort(lat)
	r.AddMs("push p50 (registration answered to list read, every node)", lat.Percentile(0.50))
	r.AddMs("push p99", lat.Percentile(0.99))
	return nil
}

// awaitList reads s's pushes, acknowledging each, until one lists n hosts.
func awaitList(s *grpcConn, n int) error {
	for {
		p, err := s.stream.Recv()
		if err != nil {
			return err
		}
		if p.GetMetadata().GetType() != "NotifySubscriberRequest" {
			continue
		}
		var body struct {
			RequestID   string `json:"requestId"`
			ServiceInfo struct {
				Hosts []json.RawMessage `json:"hosts"`
			} `json:"serviceInfo"`
		}
		if err := json.Unmarshal(p.GetBody().GetValue(), &body); err != nil {
			return err
		}
		_ = s.stream.Send(gpayload("NotifySubscriberResponse", map[string]any{"requestId": body.RequestID, "resultCode": 200}))
		if len(body.ServiceInfo.Hosts) >= n {
			return nil
		}
	}
}

// httpHold registers the same number of instances over HTTP, beating every
// cfg.Interval, and returns the agents' CPU over env.Duration of beats.
func httpHold(ctx context.Context, env *Env, cfg GRPCConfig, prefix string) (float64, error) {
	md := beatMetadata(cfg.Interval, 3*cfg.Interval, 6*cfg.Interval)
	addrs := env.Client.Addrs
	c := max(env.Concurrency, 1)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	hctx, stop := context.WithCancel(ctx)
	defer stop()
	var registered sync.WaitGroup
	failed := 0
	for w := range c {
		registered.Add(1)
		wg.Go(func() {
			for i := w; i < cfg.Instances && hctx.Err() == nil; i += c {
				svc := prefix + strconv.Itoa(i/1000)
				if err := env.Client.Form(hctx, http.MethodPost, addrs[i%len(addrs)], "/nacos/v1/ns/instance", registerForm(svc, i, false, md)); err != nil {
					mu.Lock()
					first = cmpOrErr(first, err)
					failed++
					mu.Unlock()
				}
			}
			registered.Done()
			// Then each of this worker's instances beats every interval,
			// spread evenly over it, from the end of its registrations.
			start := time.Now()
			mine := (cfg.Instances - w + c - 1) / c
			if mine <= 0 {
				return
			}
			slot := cfg.Interval / time.Duration(mine)
			for round := 0; hctx.Err() == nil; round++ {
				for k, i := 0, w; i < cfg.Instances && hctx.Err() == nil; k, i = k+1, i+c {
					due := start.Add(cfg.Interval*time.Duration(round+1) + slot*time.Duration(k))
					_ = waitFor(hctx, time.Until(due))
					v := url.Values{"serviceName": {prefix + strconv.Itoa(i/1000)}, "namespaceId": {Namespace}, "ip": {instanceIP(i)}, "port": {"8080"}}
					_, _, _ = env.Client.Do(hctx, http.MethodPut, addrs[i%len(addrs)]+"/nacos/v1/ns/instance/beat?"+v.Encode(), "", "", false)
				}
			}
		})
	}
	// Measure once the registrations are done and a round of beats ran.
	registered.Wait()
	_ = waitFor(ctx, cfg.Interval)
	cpu := agentCPU(ctx, env, env.Duration)
	stop()
	wg.Wait()
	if first != nil {
		first = fmt.Errorf("%d of %d registrations failed, the first: %w", failed, cfg.Instances, first)
	}
	return cpu, first
}
