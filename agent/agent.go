// Package agent is one roster process: it builds a node's core (package
// node), its transport to peers (package peer) and its front doors
// (door/nacos, door/native, behind door/gate) from one Config, and serves
// them all on one HTTP port. The CLI's `roster agent` runs one; tests run
// several in one process.
package agent

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/roster-io/roster/door/gate"
	"github.com/roster-io/roster/door/grpcdoor"
	nacosdoor "github.com/roster-io/roster/door/nacos"
	"github.com/roster-io/roster/door/native"
	"github.com/roster-io/roster/durable"
	"github.com/roster-io/roster/health"
	"github.com/roster-io/roster/node"
	"github.com/roster-io/roster/peer"
)

// Agent is one roster server. It is safe for concurrent use.
type Agent struct {
	cfg    Config
	log    *slog.Logger
	node   *node.Node
	peers  *peer.Transport
	server *peer.Server
	gate   *gate.Gate
	nacos  *nacosdoor.Door
	doors  doors          // on listeners of their own (doors.go)
	grpc   *grpcdoor.Door // nil when off
	mux    *http.ServeMux
	srv    *http.Server
	reg    *prometheus.Registry
	db     *durable.DB // the data directory, or nil in memory (durable.go)
	health *health.Checker
	wg     sync.WaitGroup

	// mu guards ln, doors.consulLn, started and stopped.
	mu      sync.Mutex
	ln      net.Listener
	started bool
	stopped bool
}

// New validates cfg and builds an agent with everything it serves; it
// opens no socket and starts nothing.
func New(cfg Config) (*Agent, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &Agent{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux(), reg: prometheus.NewRegistry()}
	var err error
	if a.peers, err = peer.New(a.peerConfig()); err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	if a.node, err = node.New(cfg.Config, a.peers); err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	a.server = peer.NewServer(a.peers, a.node)
	gc := gate.Config{ACL: cfg.ACL, Secret: cfg.secret(), MaxConcurrent: cfg.MaxConcurrent, MaxWatchers: cfg.MaxWatchers,
		ShedLatency: cfg.ShedLatency, ShedQueueAge: cfg.ShedQueueAge, Logger: cfg.Logger, Now: cfg.Now}
	if a.gate, err = gate.New(gc, a.node, a.reg); err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	if err := a.registerMetrics(); err != nil {
		return nil, fmt.Errorf("agent: metrics: %w", err)
	}
	if err := a.openDurable(); err != nil {
		return nil, err
	}
	if err := a.newHealth(); err != nil {
		_ = a.closeDurable(false)
		return nil, err
	}
	if err := a.buildDoors(); err != nil {
		_ = a.closeDurable(false)
		return nil, fmt.Errorf("agent: %w", err)
	}
	a.nacos = nacosdoor.New(nacosdoor.Config{MaxBodyBytes: cfg.MaxBodyBytes, CacheMillis: cfg.CacheMillis, Logger: cfg.Logger, Now: cfg.Now,
		PushToClientIP: cfg.PushToClientIP, PushAckTimeout: cfg.PushAckTimeout, MaxMetadataBytes: cfg.MaxMetadataBytes}, a.node, a.gate)
	a.nacos.Routes(a.mux)
	native.New(native.Config{MaxBodyBytes: cfg.MaxBodyBytes, MaxWait: cfg.MaxWait}, a.node, a.gate).Routes(a.mux)
	a.routes()
	if err := a.routeConsole(); err != nil {
		return nil, err
	}
	if err := a.newGRPC(); err != nil {
		return nil, err
	}
	a.srv = &http.Server{
		Handler:           a.gate.Wrap(a.mux),
		ConnContext:       a.gate.ConnContext,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.MaxWait + cfg.MaxWait/16 + cfg.ReadTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug),
	}
	watchUnused(a.srv)
	return a, nil
}

// peerConfig is the transport's share of the agent's config.
func (a *Agent) peerConfig() peer.Config {
	c := a.cfg
	pc := peer.DefaultConfig()
	pc.Self, pc.Timeout, pc.HandoffTimeout = c.Name, c.PeerTimeout, c.HandoffTimeout
	pc.Secret, pc.TLS, pc.PeerTLS = c.secret(), c.TLS != nil, c.PeerTLS
	pc.Stream, pc.BatchPace, pc.HandoffPace = c.PeerStream, c.PeerBatchPace, c.HandoffPace
	if c.PeerQueue > 0 {
		pc.DeltaQueue = c.PeerQueue
	}
	pc.StatusOf, pc.Logger, pc.Now = gate.StatusOf, c.Logger, c.Now
	if c.AllowPeer != nil || c.DebugFaults {
		pc.Allow = func(name string) bool {
			return (c.AllowPeer == nil || c.AllowPeer(name)) && a.node.AllowPeer(name)
		}
	}
	return pc
}

// Handler returns the agent's HTTP handler, for tests and embedding.
func (a *Agent) Handler() http.Handler { return a.srv.Handler }

// Node returns the agent's core, for tests and tools.
func (a *Agent) Node() *node.Node { return a.node }

// Gate returns the gate in front of the agent's doors, for tests.
func (a *Agent) Gate() *gate.Gate { return a.gate }

// Start listens on the HTTP address, starts the core (which joins the
// cluster) and the doors, and serves in the background.
func (a *Agent) Start() error {
	a.mu.Lock()
	started := a.started
	a.started = true
	a.mu.Unlock()
	if started {
		return errors.New("agent: already started")
	}
	ln, err := net.Listen("tcp", a.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("agent: listen %s: %w", a.cfg.HTTPAddr, err)
	}
	ln = a.gate.Listener(ln)
	if a.cfg.TLS != nil {
		ln = tls.NewListener(ln, a.cfg.TLS)
	}
	a.warn()
	httpAddr := a.cfg.AdvertiseHTTP
	if httpAddr == "" {
		httpAddr = advertisedHTTP(ln.Addr().String(), a.cfg.Advertise, a.cfg.GossipAddr)
	}
	if err := a.nacos.Start(ln.Addr().String()); err != nil {
		ln.Close()
		return fmt.Errorf("agent: %w", err)
	}
	if err := a.startDoors(); err != nil {
		ln.Close()
		a.nacos.Close()
		_ = a.stopDoors(context.Background())
		return fmt.Errorf("agent: %w", err)
	}
	if err := a.startGRPC(); err != nil {
		ln.Close()
		a.nacos.Close()
		_ = a.stopDoors(context.Background())
		return err
	}
	if err := a.node.Start(httpAddr); err != nil {
		ln.Close()
		a.nacos.Close()
		_ = a.stopDoors(context.Background())
		a.closeGRPC()
		return fmt.Errorf("agent: %w", err)
	}
	a.health.Start()
	a.mu.Lock()
	a.ln = ln
	a.mu.Unlock()
	a.wg.Go(func() {
		if err := a.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("http server stopped", "err", err)
		}
	})
	return nil
}

// Addr returns the bound HTTP address (host:port), or "" before Start.
func (a *Agent) Addr() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ln == nil {
		return ""
	}
	return a.ln.Addr().String()
}

// GossipAddr returns the bound gossip address, or "" without gossip.
func (a *Agent) GossipAddr() string { return a.node.GossipAddr() }

// Ready reports whether the agent's node holds the registry and serves
// clients.
func (a *Agent) Ready() bool { return a.node.Ready() }

// Leave leaves the cluster gracefully (node.Node.Leave): client writes
// get 503 with Retry-After, blocking queries answer, pending deltas are
// flushed and peers re-home this node's services. The agent keeps
// answering until Shutdown.
func (a *Agent) Leave(ctx context.Context) { a.node.Leave(ctx) }

// Shutdown leaves the cluster (unless Leave did already), drains HTTP
// until ctx ends and stops every goroutine. Safe to call twice.
func (a *Agent) Shutdown(ctx context.Context) error {
	a.mu.Lock()
	if a.stopped {
		a.mu.Unlock()
		return nil
	}
	a.stopped = true
	a.mu.Unlock()
	a.resetGRPC()
	a.node.Leave(ctx)
	var errs []error
	if err := a.srv.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("agent: drain http: %w", err))
		_ = a.srv.Close()
	}
	a.server.Close() // the peer streams the HTTP server handed over
	if err := a.stopDoors(ctx); err != nil {
		errs = append(errs, fmt.Errorf("agent: %w", err))
	}
	a.health.Stop()
	if err := a.node.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("agent: %w", err))
	}
	if err := a.closeDurable(true); err != nil {
		errs = append(errs, err)
	}
	a.wg.Wait()
	a.closeGRPC()
	a.peers.Close()
	a.nacos.Close()
	return errors.Join(errs...)
}

// Kill stops the agent at once, the way SIGKILL looks from the network:
// no leave, no flush, no drain; its sockets close. Tests use it to kill an
// in-process agent.
func (a *Agent) Kill() {
	a.mu.Lock()
	a.stopped = true
	a.mu.Unlock()
	_ = a.srv.Close()
	a.server.Close()
	dead, kill := context.WithCancel(context.Background())
	kill() // no drain: the doors' connections close at once
	_ = a.stopDoors(dead)
	a.health.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_ = a.node.Shutdown(ctx)
	cancel()
	_ = a.closeDurable(false)
	a.wg.Wait()
	a.closeGRPC()
	a.peers.Close()
	a.nacos.Close()
}

// advertisedHTTP derives the HTTP address peers should use from the bound
// one: a wildcard host is replaced by the host of the gossip advertise or
// bind address, when that is specific.
func advertisedHTTP(bound, advertise, gossipBind string) string {
	host, port, err := net.SplitHostPort(bound)
	if err != nil {
		return bound
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsUnspecified() {
		return bound
	}
	for _, addr := range []string{advertise, gossipBind} {
		if h, _, err := net.SplitHostPort(addr); err == nil {
			if ip := net.ParseIP(h); ip != nil && !ip.IsUnspecified() {
				return net.JoinHostPort(h, port)
			}
		}
	}
	return bound
}
