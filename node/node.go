// Package node is the roster server: it wires the store to the HTTP API
// (native and Nacos v1), runs heartbeat expiry and tombstone reaping, and
// owns the node's lifecycle (start, ready, shutdown).
package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/roster-io/roster/store"
)

// Node is one roster server. It is safe for concurrent use.
type Node struct {
	cfg     Config
	log     *slog.Logger
	store   *store.Store
	mux     *http.ServeMux
	srv     *http.Server
	ready   atomic.Bool
	closing atomic.Bool
	ctx     context.Context
	cancel  context.CancelFunc
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
	st, err := store.New(store.Config{Node: cfg.Name, Now: cfg.Now, TombstoneTTL: cfg.TombstoneTTL})
	if err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	waits, stopWaits := context.WithCancel(ctx)
	n := &Node{cfg: cfg, log: cfg.Logger, store: st, mux: http.NewServeMux(), ctx: ctx, cancel: cancel,
		waits: waits, stopWaits: stopWaits}
	n.routes()
	n.srv = &http.Server{
		Handler:           n.mux,
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
func (n *Node) Handler() http.Handler { return n.mux }

// Start listens on the HTTP address and serves in the background.
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
	n.ln = ln
	n.started = true
	n.wg.Add(3)
	go n.runExpiry()
	go n.runReaper()
	go func() {
		defer n.wg.Done()
		if err := n.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.log.Error("http server stopped", "err", err)
		}
	}()
	n.ready.Store(true)
	n.log.Info("node started", "name", n.cfg.Name, "http", ln.Addr().String())
	return nil
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

// Shutdown stops taking requests, drains in-flight ones until ctx ends,
// and stops every goroutine. It is safe to call more than once.
func (n *Node) Shutdown(ctx context.Context) error {
	n.mu.Lock()
	if n.stopped {
		n.mu.Unlock()
		return nil
	}
	n.stopped = true
	n.mu.Unlock()
	n.ready.Store(false)
	n.closing.Store(true)
	n.stopWaits()
	var errs []error
	if err := n.srv.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("node: drain http: %w", err))
		_ = n.srv.Close()
	}
	n.cancel()
	done := make(chan struct{})
	go func() { n.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("node: wait for goroutines: %w", ctx.Err()))
	}
	return errors.Join(errs...)
}

// writable reports whether the node still takes writes.
func (n *Node) writable() bool { return !n.closing.Load() }

// counts returns the number of services and live instances.
func (n *Node) counts() (services, instances int) { return n.store.Stats() }

// keyOf returns the key of a service in the default namespace and group.
func (n *Node) keyOf(service string) store.Key {
	return store.Key{Namespace: store.DefaultNamespace, Group: store.DefaultGroup, Service: service}
}
