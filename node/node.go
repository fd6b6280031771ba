// Package node is the roster server: it wires the store, the ring and
// gossip together, serves the HTTP APIs (native and Nacos v1), routes beats
// to their owners, replicates writes, repairs divergence with anti-entropy,
// runs heartbeat expiry and tombstone reaping, and owns the node's
// lifecycle (start, sync, ready, leave, shutdown).
package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roster-io/roster/gossip"
	"github.com/roster-io/roster/ring"
	"github.com/roster-io/roster/store"
)

// Node is one roster server. It is safe for concurrent use.
type Node struct {
	cfg        Config
	log        *slog.Logger
	store      *store.Store
	ring       *ring.Ring
	cluster    *cluster
	gossip     *gossip.Gossip
	peers      *peerClient
	sec        *security
	mux        *http.ServeMux
	srv        *http.Server
	epoch      int64
	synced     atomic.Bool // holds the registry: may serve and own
	closing    atomic.Bool // leaving: refuses client writes
	resync     chan struct{}
	aeJoins    chan string // members that joined ready, to exchange with at once
	stats      stats
	readyHints readyHints // peers that said they are ready before gossip did
	metrics    *metrics
	faults     faults
	push       *pusher // nil until Start
	ctx        context.Context
	cancel     context.CancelFunc
	// waits is cancelled first on Shutdown, so blocking queries answer at
	// once instead of holding up the drain.
	waits     context.Context
	stopWaits context.CancelFunc
	wg        sync.WaitGroup

	// mu guards ln, started and stopped.
	mu      sync.Mutex
	ln      net.Listener
	started bool
	stopped bool
}

// New validates cfg and builds a node; it starts nothing.
func New(cfg Config) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rg, err := ring.New(ring.DefaultConfig())
	if err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	st, err := store.New(store.Config{Node: cfg.Name, Now: cfg.Now, TombstoneTTL: cfg.TombstoneTTL,
		Partitions: rg.PartitionCount(), Partition: func(k store.Key) int { return rg.Partition(k.String()) }})
	if err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	waits, stopWaits := context.WithCancel(ctx)
	n := &Node{cfg: cfg, log: cfg.Logger, store: st, ring: rg, mux: http.NewServeMux(),
		epoch: time.Now().UnixNano(), resync: make(chan struct{}, 1), aeJoins: make(chan string, 64),
		ctx: ctx, cancel: cancel, waits: waits, stopWaits: stopWaits}
	n.cluster = &cluster{self: cfg.Name, ring: rg, members: map[string]member{}, peers: map[string]*peer{}, owned: map[int]bool{}}
	var allow func(string) bool
	if cfg.AllowPeer != nil || cfg.DebugFaults {
		allow = n.allowPeer
	}
	n.peers = newPeerClient(cfg.Name, cfg.PeerTimeout, allow)
	n.metrics = newMetrics(n)
	n.sec = newSecurity(cfg)
	n.peers.secure(n.sec.internalKey, cfg.TLS != nil, cfg.PeerTLS, cfg.Now)
	n.routes()
	n.srv = &http.Server{
		Handler:           n.metrics.instrument(n.wrap(n.mux)),
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.MaxWait + cfg.MaxWait/16 + cfg.ReadTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug),
	}
	return n, nil
}

// Handler returns the node's HTTP handler, for tests and embedding.
func (n *Node) Handler() http.Handler { return n.srv.Handler }

// Start listens on the HTTP address, joins the cluster and serves in the
// background. The node reports ready once it holds the registry: at once
// when it is alone, after pulling it from a peer otherwise.
func (n *Node) Start() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.started {
		return errors.New("node: already started")
	}
	ln, err := net.Listen("tcp", n.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("node: listen %s: %w", n.cfg.HTTPAddr, err)
	}
	if n.cfg.TLS != nil {
		ln = tls.NewListener(ln, n.cfg.TLS)
	}
	n.sec.warn(n)
	httpAddr := n.cfg.AdvertiseHTTP
	if httpAddr == "" {
		httpAddr = advertisedHTTP(ln.Addr().String(), n.cfg.Advertise, n.cfg.GossipAddr)
	}
	if n.cfg.GossipAddr != "" {
		gc := gossip.DefaultConfig()
		if n.cfg.GossipProfile == "local" {
			gc = gossip.DefaultLocalConfig()
		}
		gc.Name, gc.BindAddr, gc.AdvertiseAddr = n.cfg.Name, n.cfg.GossipAddr, n.cfg.Advertise
		gc.Profile, gc.Join, gc.Logger = gossip.Profile(n.cfg.GossipProfile), n.cfg.Join, n.cfg.Logger
		gc.Meta = gossip.Meta{HTTPAddr: httpAddr, Epoch: n.epoch}
		gc.SecretKey = n.cfg.GossipKey
		if n.cfg.AllowGossipAddr != nil || n.cfg.DebugFaults {
			gc.AllowAddr = n.allowGossipAddr
		}
		g, err := gossip.New(gc)
		if err == nil {
			err = g.Start()
		}
		if err != nil {
			ln.Close()
			return fmt.Errorf("node: %w", err)
		}
		n.gossip = g
	}
	udp, err := listenPush(ln.Addr().String())
	if err != nil {
		ln.Close()
		if n.gossip != nil {
			_ = n.gossip.Shutdown(context.Background())
		}
		return fmt.Errorf("node: %w", err)
	}
	n.push = &pusher{conn: udp, subs: map[string]*pushSub{}}
	n.ln = ln
	n.started = true
	n.wg.Add(4)
	go n.runPush()
	go n.runExpiry()
	go n.runReaper()
	go func() {
		defer n.wg.Done()
		if err := n.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.log.Error("http server stopped", "err", err)
		}
	}()
	if n.gossip == nil {
		n.synced.Store(true)
	} else {
		n.wg.Add(4)
		go n.runMembership()
		go n.runSync()
		go n.runAntiEntropy()
		go n.runJoinExchanges()
	}
	n.log.Info("node started", "name", n.cfg.Name, "http", ln.Addr().String(), "gossip", n.gossipAddr())
	return nil
}

// listenPush opens the UDP socket pushes leave from, on the HTTP host.
func listenPush(httpAddr string) (*net.UDPConn, error) {
	host, _, err := net.SplitHostPort(httpAddr)
	if err != nil {
		return nil, fmt.Errorf("push socket: %w", err)
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(host)})
	if err != nil {
		return nil, fmt.Errorf("push socket: %w", err)
	}
	return conn, nil
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
	for _, a := range []string{advertise, gossipBind} {
		if h, _, err := net.SplitHostPort(a); err == nil {
			if ip := net.ParseIP(h); ip != nil && !ip.IsUnspecified() {
				return net.JoinHostPort(h, port)
			}
		}
	}
	return bound
}

// gossipAddr returns the bound gossip address, or "" without gossip.
func (n *Node) gossipAddr() string {
	if n.gossip == nil {
		return ""
	}
	return n.gossip.LocalMember().Addr
}

// Addr returns the bound HTTP address (host:port), or "" before Start.
func (n *Node) Addr() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ln == nil {
		return ""
	}
	return n.ln.Addr().String()
}

// GossipAddr returns the bound gossip address, or "" without gossip.
func (n *Node) GossipAddr() string { return n.gossipAddr() }

// Ready reports whether the node holds the registry and serves clients.
func (n *Node) Ready() bool { return n.synced.Load() && !n.closing.Load() }

// Shutdown leaves the cluster gracefully: it refuses client writes (503
// with Retry-After), releases blocking queries, tells the cluster it is
// leaving so peers re-home its services, flushes pending deltas, drains
// HTTP until ctx ends and stops every goroutine. Safe to call twice.
func (n *Node) Shutdown(ctx context.Context) error {
	n.mu.Lock()
	if n.stopped {
		n.mu.Unlock()
		return nil
	}
	n.stopped = true
	n.mu.Unlock()
	n.closing.Store(true)
	n.stopWaits()
	var errs []error
	if n.gossip != nil {
		n.flushPeers(ctx)
		lctx, cancel := context.WithTimeout(ctx, n.cfg.LeaveTimeout)
		if err := n.gossip.Leave(lctx); err != nil {
			n.log.Warn("leave not confirmed; peers will detect the departure", "err", err)
		}
		cancel()
	}
	if err := n.srv.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("node: drain http: %w", err))
		_ = n.srv.Close()
	}
	n.cancel()
	n.cluster.stopPeers()
	if n.gossip != nil {
		if err := n.gossip.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("node: gossip: %w", err))
		}
	}
	done := make(chan struct{})
	go func() { n.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("node: wait for goroutines: %w", ctx.Err()))
	}
	n.peers.close()
	if n.push != nil {
		_ = n.push.conn.Close()
	}
	return errors.Join(errs...)
}

// flushPeers waits until every peer's delta queue is empty or ctx ends.
func (n *Node) flushPeers(ctx context.Context) {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		pending := 0
		for _, p := range n.cluster.peerList() {
			pending += p.deltas.pending()
		}
		if pending == 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// stats counts what the node does; tests read it and the metrics
// collector (metrics.go) exports it at scrape time.
type stats struct {
	beatsReceived    atomic.Uint64 // client beats that reached this node
	handoffBatches   atomic.Uint64 // hand-off requests sent
	handoffBeats     atomic.Uint64 // beats in them
	handoffFailures  atomic.Uint64 // beats handled here because the owner could not be reached
	expiredUnhealthy atomic.Uint64 // instances this node marked unhealthy
	expiredRemoved   atomic.Uint64 // instances this node removed
	deltaBatches     atomic.Uint64 // replication requests sent
	deltaWrites      atomic.Uint64 // writes in them
	deltaRecords     atomic.Uint64 // records in them
	deltaFailures    atomic.Uint64 // replication requests that failed
	deltaReceived    atomic.Uint64 // records received in replication requests
	deltaApplied     atomic.Uint64 // of those, newer than what was held
	aeEqual          atomic.Uint64 // anti-entropy exchanges that found both sides equal
	aeRepaired       atomic.Uint64 // exchanges that found differing partitions
	aeFailed         atomic.Uint64 // exchanges that failed
	aePartitions     atomic.Uint64 // partitions found differing and repaired
	aeDeferred       atomic.Uint64 // differing partitions whose differences were all deltas in flight
	expiryLate       lateHist      // how late expiry transitions became visible
	readyHints       atomic.Uint64 // ready announcements received from peers
}

// counts returns the number of services and live instances.
func (n *Node) counts() (services, instances int) { return n.store.Stats() }

// keyOf returns the key of a service in the default namespace and group.
func (n *Node) keyOf(service string) store.Key {
	return store.Key{Namespace: store.DefaultNamespace, Group: store.DefaultGroup, Service: service}
}
