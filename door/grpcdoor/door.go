// Package grpcdoor is the Nacos 2.x front door: the gRPC protocol that
// the Nacos 2.x clients (the Java client 2.x, nacos-sdk-go v2 and the
// others) speak to a server's HTTP port + 1000. It serves the naming
// requests over the same core as the HTTP doors, with the gate's ACL
// tokens and concurrency limit, and binds each ephemeral instance a
// client registers to the client's connection (node.Leases): the
// instance lives as long as the connection and goes the moment it
// closes. Subscribers get the full instance list pushed on their stream
// whenever a service changes anywhere in the cluster.
//
// A connection is one HTTP/2 transport: its id is handed out by
// ServerCheckRequest and names the transport that asked. The client then
// opens the bi-stream and sends ConnectionSetupRequest on it; only then
// does the connection exist (other requests before it get Nacos' code 301,
// which makes clients reconnect). A transport that sends no setup within
// Config.SetupTimeout is closed.
package grpcdoor

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"

	"github.com/roster-io/roster/door/gate"
	"github.com/roster-io/roster/door/grpcdoor/pb"
	"github.com/roster-io/roster/node"
)

// Config configures the door. DefaultConfig fills every field.
type Config struct {
	// MaxPayloadBytes bounds one received message; a larger one is
	// refused with gRPC's RESOURCE_EXHAUSTED. Default 4 MiB.
	MaxPayloadBytes int
	// SetupTimeout closes a transport that has not sent
	// ConnectionSetupRequest this long after it opened. Default 10s.
	SetupTimeout time.Duration
	// LeaseInterval is how often this node renews the instances of the
	// connections it holds; unrenewed, they go after node.LeaseTimeouts
	// intervals. Default 2s.
	LeaseInterval time.Duration
	// AckTimeout is how long a push or a client detection waits for the
	// client's answer: an unanswered push is sent again, an unanswered
	// detection closes the connection. Default 3s.
	AckTimeout time.Duration
	// DetectIdle sends ClientDetectionRequest to a connection silent this
	// long. Default 20s.
	DetectIdle time.Duration
	// KeepaliveTime and KeepaliveTimeout are the HTTP/2 pings of idle
	// transports: a host that does not answer within the timeout is
	// dropped. Defaults 10s and 5s.
	KeepaliveTime, KeepaliveTimeout time.Duration
	// MaxConnections bounds the transports open at once; more are closed
	// at once. Zero: no limit. Default 20000.
	MaxConnections int
	// MaxSubscriptions bounds the services one connection subscribes to;
	// one more is refused (code 429). Default 10000.
	MaxSubscriptions int
	// CacheMillis is the cacheMillis of the lists sent. Default 10000, as
	// Nacos 2.x.
	CacheMillis int64
	// TLS, if set, serves TLS (the agent's HTTP certificate).
	TLS *tls.Config
	// Registry receives the door's metrics. Nil: none.
	Registry prometheus.Registerer
	// Logger receives the door's logs.
	Logger *slog.Logger
	// Now is the clock.
	Now func() time.Time
}

// DefaultConfig returns a Config with every field set to its default.
func DefaultConfig() Config {
	return Config{MaxPayloadBytes: 4 << 20, SetupTimeout: 10 * time.Second, LeaseInterval: 2 * time.Second,
		AckTimeout: 3 * time.Second, DetectIdle: 20 * time.Second, KeepaliveTime: 10 * time.Second,
		KeepaliveTimeout: 5 * time.Second, MaxConnections: 20000, MaxSubscriptions: 10000, CacheMillis: 10000,
		Logger: slog.Default(), Now: time.Now}
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	switch {
	case c.MaxPayloadBytes <= 0:
		return errors.New("grpcdoor: config: max payload must be positive")
	case c.SetupTimeout <= 0 || c.LeaseInterval <= 0 || c.AckTimeout <= 0 || c.DetectIdle <= 0:
		return errors.New("grpcdoor: config: setup timeout, lease interval, ack timeout and detect idle must be positive")
	case c.KeepaliveTime <= 0 || c.KeepaliveTimeout <= 0:
		return errors.New("grpcdoor: config: keepalive time and timeout must be positive")
	case c.MaxConnections < 0 || c.MaxSubscriptions <= 0:
		return errors.New("grpcdoor: config: max connections must not be negative, max subscriptions must be positive")
	case c.Logger == nil || c.Now == nil:
		return errors.New("grpcdoor: config: logger and clock are required")
	}
	return nil
}

// Door is the gRPC front door. It is safe for concurrent use.
type Door struct {
	cfg     Config
	core    *node.Node
	gate    *gate.Gate
	leases  *node.Leases
	hub     *hub
	metrics *metrics
	srv     *grpc.Server
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	pushID  atomic.Uint64
	leaving atomic.Bool // closed connections keep their instances: their clients move

	// mu guards conns, ln and started.
	mu      sync.Mutex
	conns   map[string]*conn
	ln      *listener
	started bool
}

// New builds the door in front of core behind g; it opens nothing.
func New(cfg Config, core *node.Node, g *gate.Gate) (*Door, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &Door{cfg: cfg, core: core, gate: g, leases: core.NewLeases(cfg.LeaseInterval),
		conns: map[string]*conn{}, ctx: ctx, cancel: cancel}
	d.hub = newHub(d)
	d.metrics = newMetrics()
	if cfg.Registry != nil {
		if err := d.metrics.register(cfg.Registry, d); err != nil {
			cancel()
			return nil, fmt.Errorf("grpcdoor: metrics: %w", err)
		}
	}
	opts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(cfg.MaxPayloadBytes),
		grpc.StatsHandler(statsHandler{d}),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: cfg.KeepaliveTime, Timeout: cfg.KeepaliveTimeout}),
		// Clients ping idle transports (nacos-sdk-go every 60 s, with no
		// stream too); a stricter policy would drop them.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}),
	}
	if cfg.TLS != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(cfg.TLS)))
	}
	d.srv = grpc.NewServer(opts...)
	pb.RegisterRequestServer(d.srv, requestServer{d: d})
	pb.RegisterBiRequestStreamServer(d.srv, streamServer{d: d})
	return d, nil
}

// Leases returns the door's table of connection-bound instances.
func (d *Door) Leases() *node.Leases { return d.leases }

// Start serves on ln (plain TCP; the door adds TLS itself) and starts the
// lease renewal and the connection sweeper.
func (d *Door) Start(ln net.Listener) error {
	d.mu.Lock()
	if d.started {
		d.mu.Unlock()
		return errors.New("grpcdoor: already started")
	}
	d.started = true
	d.ln = newListener(ln)
	d.mu.Unlock()
	d.wg.Go(func() { d.leases.Run(d.ctx) })
	d.wg.Go(d.sweep)
	d.wg.Go(func() {
		if err := d.srv.Serve(d.ln); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			d.cfg.Logger.Error("grpc server stopped", "err", err)
		}
	})
	return nil
}

// Addr returns the bound address, or "" before Start.
func (d *Door) Addr() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ln == nil {
		return ""
	}
	return d.ln.Addr().String()
}

// Connections returns the connections set up on this node.
func (d *Door) Connections() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, c := range d.conns {
		if c.isSetup() {
			n++
		}
	}
	return n
}

// Reset asks every connected client to move to another server
// (ConnectResetRequest), as a leaving node does; the clients register
// again there. From then on a closing connection leaves its instances to
// the client's new connection instead of deregistering them. It returns
// once every client answered its reset (Nacos clients answer
// ConnectResetResponse), its stream closed, or the ack timeout passed,
// so a Close that follows does not cut the resets off unread.
func (d *Door) Reset() {
	d.leaving.Store(true)
	conns := d.list()
	ids := make([]string, len(conns))
	for i, c := range conns {
		ids[i] = d.nextPushID()
		c.mu.Lock()
		c.unacked[ids[i]] = pushWait{sent: d.cfg.Now(), reset: true}
		c.mu.Unlock()
		c.send(payload("ConnectResetRequest", resetRequest{
			request: request{RequestID: ids[i], Module: "internal"}, ConnectionID: c.id}))
	}
	deadline := time.Now().Add(d.cfg.AckTimeout)
	for i, c := range conns {
		for c.awaits(ids[i]) && time.Now().Before(deadline) {
			time.Sleep(resetPoll)
		}
	}
}

// resetPoll is how often Reset looks for its answers.
const resetPoll = 5 * time.Millisecond

// Close stops serving: it closes every transport (without releasing
// their instances, which this node can no longer write while it leaves;
// their clients register them again elsewhere, and unrenewed they
// expire) and stops every goroutine.
func (d *Door) Close() {
	d.mu.Lock()
	started := d.started
	d.mu.Unlock()
	d.cancel()
	if started {
		d.srv.Stop()
	}
	d.hub.stop()
	d.wg.Wait()
}

func (d *Door) list() []*conn {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]*conn, 0, len(d.conns))
	for _, c := range d.conns {
		out = append(out, c)
	}
	return out
}

func (d *Door) nextPushID() string { return fmt.Sprint(d.pushID.Add(1)) }
