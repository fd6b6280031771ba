// Package node is the core of a roster server: one member of the cluster.
// It holds the registry (package store), the ring (package ring) and the
// membership (package gossip), and it does everything the registry needs
// beyond storing: it refuses writes until it has synced and while it
// leaves, replicates every write and acknowledges it once a peer holds
// it, routes beats to their services' owners, times out the instances of
// the services it owns, repairs divergence with anti-entropy and pulls the
// registry when it starts.
//
// The core serves no request itself. The front doors (package door/...)
// call its methods — Register, Deregister, Update, Beat, the service
// writes, Snapshot, Services, WaitChange, Members, Owner — and its peers
// reach it through the transport (package peer), which calls the methods
// of peer.Receiver.
package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roster-io/roster/gossip"
	"github.com/roster-io/roster/internal/ratelog"
	"github.com/roster-io/roster/peer"
	"github.com/roster-io/roster/ring"
	"github.com/roster-io/roster/store"
)

// Node is one roster cluster member. It is safe for concurrent use.
type Node struct {
	cfg        Config
	log        *slog.Logger
	store      *store.Store
	ring       *ring.Ring
	cluster    *cluster
	gcfg       gossip.Config // built and validated by New, started by Start
	gossip     *gossip.Gossip
	peers      *peer.Transport
	epoch      int64
	synced     atomic.Bool // holds the registry: may serve and own
	closing    atomic.Bool // leaving: refuses client writes
	resync     chan struct{}
	aeJoins    chan string // members that joined ready, to exchange with at once
	hints      chan string // members learnt of after this node became ready, to tell
	stats      stats
	readyHints readyHints    // peers that said they are ready before gossip did
	heard      heardHints    // the last last-heard report of each partition
	heardKick  chan struct{} // asks runHeard to report now
	watch      watchdog      // the progress probe's findings (watchdog.go)
	lag        lagObserver
	faults     faults
	brake      brake           // the expiry brake (brake.go)
	durable    Durable         // the durable log, or nil (durable.go)
	warns      ratelog.Limiter // repeated warnings, logged at most every ratelog.Every
	ctx        context.Context
	cancel     context.CancelFunc
	// waits is cancelled first when the node leaves, so blocking queries
	// answer at once instead of holding up the drain.
	waits     context.Context
	stopWaits context.CancelFunc
	wg        sync.WaitGroup

	goneHolders goneHolders // members gone, whose connections' instances expire (leases.go)

	// mu guards httpAddr, started, left and stopped.
	mu       sync.Mutex
	httpAddr string
	started  bool
	left     bool
	stopped  bool
}

// New validates cfg and builds a node that sends to its peers through tr;
// it starts nothing.
func New(cfg Config, tr *peer.Transport) (*Node, error) {
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
	n := &Node{cfg: cfg, log: cfg.Logger, store: st, ring: rg, peers: tr,
		epoch: time.Now().UnixNano(), resync: make(chan struct{}, 1), heardKick: make(chan struct{}, 1), aeJoins: make(chan string, 64), hints: make(chan string, 64),
		ctx: ctx, cancel: cancel, waits: waits, stopWaits: stopWaits}
	n.cluster = &cluster{self: cfg.Name, ring: rg, members: map[string]Member{}, owned: map[int]bool{}}
	n.lag = newLagObserver()
	if cfg.GossipAddr != "" {
		if n.gcfg, err = n.gossipConfig(); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// gossipConfig builds and validates the gossip configuration; Start adds
// the advertised HTTP address.
func (n *Node) gossipConfig() (gossip.Config, error) {
	gc := gossip.DefaultConfig()
	if n.cfg.GossipProfile == "local" {
		gc = gossip.DefaultLocalConfig()
	}
	gc.Name, gc.BindAddr, gc.AdvertiseAddr = n.cfg.Name, n.cfg.GossipAddr, n.cfg.Advertise
	gc.Profile, gc.Join, gc.Logger = gossip.Profile(n.cfg.GossipProfile), n.cfg.Join, n.cfg.Logger
	gc.Meta = gossip.Meta{Epoch: n.epoch}
	gc.SecretKey = n.cfg.GossipKey
	if n.cfg.AllowGossipAddr != nil || n.cfg.DebugFaults {
		gc.AllowAddr = n.allowGossipAddr
	}
	if err := gc.Validate(); err != nil {
		return gc, fmt.Errorf("node: %w", err)
	}
	return gc, nil
}

// Start joins the cluster, advertising httpAddr as where peers and
// clients reach this node, and starts the background work. The node
// reports ready once it holds the registry: at once when it is alone,
// after pulling it from a peer otherwise.
func (n *Node) Start(httpAddr string) error {
	n.mu.Lock()
	if n.started {
		n.mu.Unlock()
		return errors.New("node: already started")
	}
	n.started, n.httpAddr = true, httpAddr
	n.mu.Unlock()
	if n.cfg.GossipAddr != "" {
		gc := n.gcfg
		gc.Meta.HTTPAddr = httpAddr
		g, err := gossip.New(gc)
		if err == nil {
			err = g.Start()
		}
		if err != nil {
			return fmt.Errorf("node: %w", err)
		}
		n.gossip = g
	}
	n.wg.Go(n.runExpiry)
	n.wg.Go(n.runWatchdog)
	n.wg.Go(n.runReaper)
	if n.gossip == nil {
		n.synced.Store(true)
	} else {
		n.wg.Go(n.runMembership)
		n.wg.Go(n.runSync)
		n.wg.Go(n.runAntiEntropy)
		n.wg.Go(n.runJoinExchanges)
		n.wg.Go(n.runHints)
		n.wg.Go(n.runHeard)
	}
	n.log.Info("node started", "name", n.cfg.Name, "http", httpAddr, "gossip", n.GossipAddr())
	return nil
}

// GossipAddr returns the bound gossip address, or "" without gossip.
func (n *Node) GossipAddr() string {
	if n.gossip == nil {
		return ""
	}
	return n.gossip.LocalMember().Addr
}

// HTTPAddr returns the address Start advertised.
func (n *Node) HTTPAddr() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.httpAddr
}

// Ready reports whether the node holds the registry and serves clients.
func (n *Node) Ready() bool { return n.synced.Load() && !n.closing.Load() }

// Synced reports whether the node holds the registry (it may be leaving).
func (n *Node) Synced() bool { return n.synced.Load() }

// Leaving reports whether the node is leaving the cluster.
func (n *Node) Leaving() bool { return n.closing.Load() }

// Leave leaves the cluster gracefully: the node refuses client writes,
// releases blocking queries, flushes pending deltas and tells the cluster
// it leaves so peers re-home its services. It keeps answering reads and
// its peers until Shutdown. Safe to call twice.
func (n *Node) Leave(ctx context.Context) {
	n.mu.Lock()
	if n.left {
		n.mu.Unlock()
		return
	}
	n.left = true
	n.mu.Unlock()
	n.closing.Store(true)
	n.stopWaits()
	if n.gossip == nil {
		return
	}
	n.flushPeers(ctx)
	lctx, cancel := context.WithTimeout(ctx, n.cfg.LeaveTimeout)
	defer cancel()
	if err := n.gossip.Leave(lctx); err != nil {
		n.log.Warn("leave not confirmed; peers will detect the departure", "err", err)
	}
}

// Shutdown stops every goroutine and the gossip member, waiting at most
// until ctx ends; it does not leave first (call Leave for that). Safe to
// call twice.
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
	n.cancel()
	var errs []error
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
	return errors.Join(errs...)
}

// flushPeers waits until every peer's delta queue is empty or ctx ends.
func (n *Node) flushPeers(ctx context.Context) {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for n.peers.Pending() > 0 {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// sleep waits d or until the node stops, and reports whether d passed.
func (n *Node) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-n.ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
