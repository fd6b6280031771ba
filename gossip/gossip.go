package gossip

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

const (
	// defaultLeaveTimeout bounds Leave when its context has no deadline.
	defaultLeaveTimeout = 10 * time.Second

	// updateTimeout bounds SetReady's wait for its broadcast to be sent.
	updateTimeout = 5 * time.Second
)

// Gossip is one node's membership in a roster cluster. Create it with New,
// subscribe to Events, then call Start; end it with Leave and Shutdown.
// It is safe for concurrent use.
type Gossip struct {
	cfg    Config
	logger *slog.Logger
	meta   *delegate // the published Meta; cfg.Meta is only the initial one
	view   *view
	self   *selfWatch
	failed *failedSet
	counts trafficCounts // gossip bytes, suspicions raised and refuted
	ml     atomic.Pointer[memberlist.Memberlist]
	joined atomic.Bool
	// refused is why the seeds refused the last join attempt; nil when
	// they did not (join.go).
	refused atomic.Pointer[string]

	// rejoinEvery is the profile's rejoinInterval; set by Start before the
	// join loop starts.
	rejoinEvery time.Duration

	seedsDone chan struct{} // closed when the join loop stops trying seeds

	wg   sync.WaitGroup // goroutines started by Start
	done chan struct{}  // closed when they have all returned

	// mu guards the lifecycle fields below. It also serializes Start,
	// SetReady, Leave and Shutdown and is held across memberlist's Leave,
	// which panics if memberlist was shut down; the read-only methods never
	// take it.
	mu       sync.Mutex
	started  bool
	left     bool
	closed   bool
	cancel   context.CancelFunc // stops every goroutine
	stopJoin context.CancelFunc // stops the join loop only
}

// New validates cfg and prepares a Gossip. It opens no socket and starts no
// goroutine. A zero cfg.Meta.Epoch is set to the current time.
func New(cfg Config) (*Gossip, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Meta.Epoch == 0 {
		cfg.Meta.Epoch = time.Now().UnixNano()
	}
	meta, err := newDelegate(cfg.Meta)
	if err != nil {
		return nil, err
	}
	cfg.Join = append([]string(nil), cfg.Join...)
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("node", cfg.Name)
	return &Gossip{
		cfg:    cfg,
		logger: logger,
		meta:   meta,
		view:   newView(cfg.Name, cfg.Meta, cfg.EventBuffer),
		self:   newSelfWatch(cfg.Name),
		failed: newFailedSet(),
		done:   make(chan struct{}),

		seedsDone: make(chan struct{}),
	}, nil
}

// Start binds the gossip port, makes this node a cluster of one and starts
// joining the seeds in the background. It returns once the port is bound;
// Joined reports when a seed has answered. If Start fails (the port is
// taken, say), the Gossip is closed; make a new one to try again.
func (g *Gossip) Start() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.closed:
		return ErrClosed
	case g.started:
		return ErrStarted
	}

	conf, err := g.memberlistConfig()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	g.wg.Go(func() { g.view.pump(ctx) })

	ml, err := memberlist.Create(conf)
	if err != nil {
		_ = conf.Transport.Shutdown() // ours: memberlist leaves it open
		cancel()
		g.wg.Wait()
		g.closed = true
		close(g.done)
		return fmt.Errorf("gossip: start: %w", err)
	}
	g.ml.Store(ml)
	g.rejoinEvery = rejoinInterval(conf)
	g.self.setAddr(g.view.local().Addr)
	g.started = true
	g.cancel = cancel
	if len(g.cfg.Join) == 0 {
		g.joined.Store(true) // a cluster of one from the start
	}

	joinCtx, stopJoin := context.WithCancel(ctx)
	g.stopJoin = stopJoin
	g.wg.Go(func() { g.joinLoop(joinCtx) })
	g.wg.Go(func() { g.reconnectLoop(ctx) })
	go func() {
		g.wg.Wait()
		close(g.done)
	}()
	g.logger.Info("gossip: started", "addr", g.view.local().Addr, "profile", string(g.cfg.Profile),
		"seeds", g.cfg.Join, "epoch", g.cfg.Meta.Epoch)
	return nil
}

// memberlistConfig builds memberlist's configuration from the profile and
// g.cfg.
func (g *Gossip) memberlistConfig() (*memberlist.Config, error) {
	conf, err := g.cfg.Profile.memberlistConfig()
	if err != nil {
		return nil, fmt.Errorf("gossip: %w", err)
	}
	bind, err := parseIPPort(g.cfg.BindAddr)
	if err != nil {
		return nil, fmt.Errorf("gossip: bind addr: %w", err)
	}
	conf.Name = g.cfg.Name
	conf.Label = g.cfg.Cluster
	if len(g.cfg.SecretKey) > 0 {
		// memberlist builds its keyring from SecretKey and, with the
		// default GossipVerifyIncoming/Outgoing, drops clear packets.
		conf.SecretKey = append([]byte(nil), g.cfg.SecretKey...)
	}
	conf.BindAddr = bind.Addr().String()
	conf.BindPort = int(bind.Port())
	conf.AdvertiseAddr = ""
	conf.AdvertisePort = int(bind.Port())
	if g.cfg.AdvertiseAddr != "" {
		adv, err := parseIPPort(g.cfg.AdvertiseAddr)
		if err != nil {
			return nil, fmt.Errorf("gossip: advertise addr: %w", err)
		}
		conf.AdvertiseAddr = adv.Addr().String()
		conf.AdvertisePort = int(adv.Port())
	}
	conf.Delegate = g.meta
	conf.Events = &eventDelegate{view: g.view, failed: g.failed, logger: g.logger}
	conf.Conflict = &conflictDelegate{self: g.self}
	conf.Merge = &mergeDelegate{self: g.self}
	conf.Logger = newMemberlistLogger(g.logger, &g.counts)
	conf.LogOutput = nil
	// Always our own transport, so that the traffic is counted; AllowAddr,
	// when set, also filters it.
	ft, err := newTransport(conf, g.cfg.AllowAddr, &g.counts)
	if err != nil {
		return nil, err
	}
	if conf.BindPort == 0 {
		conf.BindPort = ft.GetAutoBindPort()
		if g.cfg.AdvertiseAddr == "" {
			conf.AdvertisePort = conf.BindPort
		}
	}
	conf.Transport = ft
	return conf, nil
}

// SetReady publishes Meta.Ready. Peers see an EventUpdate for this node. It
// waits up to a few seconds for the change to be gossiped, and returns
// ErrClosed after Leave or Shutdown. Before Start it only changes what Start
// will publish.
func (g *Gossip) SetReady(ready bool) error {
	g.mu.Lock()
	if g.closed || g.left {
		g.mu.Unlock()
		return ErrClosed
	}
	m := g.meta.get()
	if m.Ready == ready {
		g.mu.Unlock()
		return nil
	}
	m.Ready = ready
	if err := g.meta.set(m); err != nil {
		g.mu.Unlock()
		return fmt.Errorf("gossip: set ready: %w", err)
	}
	started := g.started
	g.mu.Unlock()
	if !started {
		g.view.setLocalMeta(m)
		return nil
	}
	// Not under mu: the wait would hold up Shutdown. A Shutdown or Leave
	// racing with this call makes it time out, which is harmless.
	if err := g.ml.Load().UpdateNode(updateTimeout); err != nil {
		return fmt.Errorf("gossip: set ready: %w", err)
	}
	return nil
}

// Events returns the channel of membership changes. It is the same channel
// on every call, exists from New on (so subscribe before Start to see this
// node's own EventJoin), is unbuffered (see Config.EventBuffer for the
// queue behind it) and is closed by Shutdown.
func (g *Gossip) Events() <-chan Event { return g.view.out }

// Members returns the live members, this node included, sorted by name.
// Suspected members count as live until they are declared dead.
func (g *Gossip) Members() []Member { return g.view.list() }

// NumMembers returns len(Members()) without copying.
func (g *Gossip) NumMembers() int { return g.view.len() }

// LocalMember returns this node. Before Start its Addr is empty.
func (g *Gossip) LocalMember() Member { return g.view.local() }

// Joined reports whether a seed has answered a join, or there were no seeds
// to join.
func (g *Gossip) Joined() bool { return g.joined.Load() }

// Introduce exchanges full state with the member at gossip address addr
// (a push-pull, as a join does), so that it learns of this node, and of
// every member this node knows, now rather than when epidemic gossip or
// its next periodic exchange reaches it.
func (g *Gossip) Introduce(addr string) error {
	ml := g.ml.Load()
	if ml == nil {
		return fmt.Errorf("gossip: introduce to %s: not started", addr)
	}
	if _, err := ml.Join([]string{addr}); err != nil {
		return fmt.Errorf("gossip: introduce to %s: %w", addr, err)
	}
	return nil
}

// Conflicted reports whether peers still know this node's name at another
// address (an earlier run of it, restarted on new ports before the peers
// declared the old one dead). Until they accept the new address they send
// it nothing, so the node should not serve as a full member yet.
func (g *Gossip) Conflicted() bool { return g.self.conflicted.Load() }

// DroppedEvents returns how many events were dropped because the consumer
// of Events fell behind (each drop is followed by an EventResync).
func (g *Gossip) DroppedEvents() uint64 { return g.view.droppedEvents() }

// HealthScore returns memberlist's Lifeguard awareness score: 0 is healthy;
// higher means this node recently missed its own probe deadlines and has
// slowed its probing by a factor of HealthScore()+1. It is 0 before Start.
func (g *Gossip) HealthScore() int {
	if ml := g.ml.Load(); ml != nil {
		return ml.GetHealthScore()
	}
	return 0
}

// Leave tells the cluster that this node is leaving, so peers report
// EventLeave at once instead of after failure detection, and stops the join
// loop. It waits until the leave message has been gossiped or ctx's deadline
// (10s if ctx has none) passes. Call Shutdown afterwards.
func (g *Gossip) Leave(ctx context.Context) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.closed:
		return ErrClosed
	case !g.started:
		return ErrNotStarted
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("gossip: leave: %w", err)
	}
	g.stopJoin()
	g.left = true

	timeout := defaultLeaveTimeout
	if deadline, ok := ctx.Deadline(); ok {
		timeout = time.Until(deadline)
		if timeout <= 0 {
			return fmt.Errorf("gossip: leave: %w", context.DeadlineExceeded)
		}
	}
	if err := g.ml.Load().Leave(timeout); err != nil {
		return fmt.Errorf("gossip: leave: %w", err)
	}
	g.logger.Info("gossip: left the cluster")
	return nil
}

// Shutdown stops the join loop, closes memberlist's sockets without telling
// peers (they will detect this node as failed; call Leave first for a clean
// exit), waits for this Gossip's goroutines within ctx and closes Events. It
// is safe to call more than once, and before Start. A Leave in progress
// finishes first (it is bounded by its own context). If ctx ends first,
// Shutdown returns its error; calling it again waits again.
func (g *Gossip) Shutdown(ctx context.Context) error {
	g.mu.Lock()
	if !g.closed {
		g.closed = true
		if !g.started {
			close(g.view.out)
			close(g.done)
		} else {
			g.cancel()
			if err := g.ml.Load().Shutdown(); err != nil {
				g.mu.Unlock()
				return fmt.Errorf("gossip: shutdown: %w", err)
			}
		}
	}
	g.mu.Unlock()

	select {
	case <-g.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("gossip: shutdown: %w", ctx.Err())
	}
}
