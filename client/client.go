package client

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
)

// Client talks to a roster cluster through the native API of its nodes.
// It is safe for concurrent use. Its goroutines (heartbeats, membership
// refresh, watches) run until Close or until their context ends.
type Client struct {
	cfg        Config
	log        *slog.Logger
	http       *http.Client
	addrs      []*url.URL                // configured nodes, in the order given
	preferred  atomic.Uint32             // index in addrs of the node that answered last
	table      atomic.Pointer[ringTable] // the cluster's ring as last read; nil if never read
	kick       chan struct{}             // asks the membership loop to refresh now
	batches    beatBatches               // beats queued per owner (beatbatch.go)
	sched      beatSched                 // when each registration beats next (beatsched.go)
	noBatch    atomic.Bool               // a node lacked the batch endpoint: beat singly
	regBatch   regBatches                // registrations waiting to leave together (register_batch.go)
	noRegBatch atomic.Bool               // a node lacked the batch registration endpoint
	answered   answeredNodes             // when each node last answered (answered.go)
	ctx        context.Context
	cancel     context.CancelFunc
	wg         sync.WaitGroup

	// mu guards regs, closed, membersStarted and schedStarted.
	mu             sync.Mutex
	regs           map[InstanceKey]*registration
	closed         bool
	membersStarted bool
	schedStarted   bool
}

// New validates cfg and returns a Client. It starts nothing and contacts no
// node: the first call does.
func New(cfg Config) (*Client, error) {
	cfg, hc, err := cfg.prepare()
	if err != nil {
		return nil, err
	}
	addrs := make([]*url.URL, len(cfg.Addrs))
	for i, a := range cfg.Addrs {
		addrs[i], _ = parseAddr(a) // checked by Validate
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Client{cfg: cfg, log: cfg.Logger, http: hc, addrs: addrs, kick: make(chan struct{}, 1),
		ctx: ctx, cancel: cancel, regs: map[InstanceKey]*registration{},
		sched: beatSched{wake: make(chan struct{}, 1)}}, nil
}

// prepare validates c and returns it with its defaults filled in, and the
// HTTP client it asks for.
func (c Config) prepare() (Config, *http.Client, error) {
	if err := c.Validate(); err != nil {
		return c, nil, err
	}
	c = c.withDefaults()
	hc, err := c.httpClient()
	return c, hc, err
}

// Close deregisters every instance this client registered, stops its
// goroutines and waits for them. Deregistration is bounded by ctx; the
// goroutines stop either way. Close is safe to call twice.
func (c *Client) Close(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true // from here on Register fails and starts nothing
	c.mu.Unlock()
	err := c.DeregisterAll(ctx)
	c.cancel()
	c.wg.Wait()
	return err
}

// DeregisterAll stops the beats of every instance this client registered
// and removes them from the registry.
func (c *Client) DeregisterAll(ctx context.Context) error {
	var errs []error
	for _, k := range c.Registered() {
		if err := c.Deregister(ctx, k); err != nil && !errors.Is(err, ErrNotRegistered) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Registered returns the keys of the instances this client keeps alive.
func (c *Client) Registered() []InstanceKey {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]InstanceKey, 0, len(c.regs))
	for k := range c.regs {
		out = append(out, k)
	}
	return out
}

// checkOpen returns ErrClosed after Close.
func (c *Client) checkOpen() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	return nil
}

// goLocked starts fn as a goroutine owned by c; c.mu must be held and c
// open.
func (c *Client) goLocked(fn func()) {
	c.wg.Go(fn)
}
