// Package dns is roster's DNS front door: it answers A, AAAA and SRV
// queries for services under one domain (default "roster.") over UDP and
// TCP, from the node's core (Snapshot, AllServices), the way Consul's DNS
// interface does. Names, the mapping of names DNS labels cannot carry,
// and the answers are described in docs/dns.md.
package dns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	mdns "github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/net/netutil"

	"github.com/roster-io/roster/store"
)

// Core is what the door reads from a node's core (*node.Node).
type Core interface {
	Snapshot(k store.Key) *store.Snapshot
	AllServices() []store.Key
	Index() uint64
	Synced() bool
}

// Defaults of Config.
const (
	DefaultDomain      = "roster."
	DefaultTTL         = 5 * time.Second
	DefaultMaxTCPConns = 512
	// maxUDPSize caps the EDNS0 buffer size a client may ask for.
	maxUDPSize = 4096
)

// Config configures the door.
type Config struct {
	// Addr is the UDP and TCP listen address (host:port; port 0 picks a
	// free one, the same for both).
	Addr string
	// Domain is the zone served, fully qualified. Default DefaultDomain.
	Domain string
	// TTL of the records answered, whole seconds. Default DefaultTTL.
	TTL time.Duration
	// MaxTCPConns bounds open TCP connections; more wait to be accepted.
	// Default DefaultMaxTCPConns.
	MaxTCPConns int
	// Logger receives the door's logs.
	Logger *slog.Logger
	// Now is the clock.
	Now func() time.Time
}

// Server serves DNS in front of a node's core. It is safe for concurrent
// use; ServeDNS may also be called directly (tests, fuzzing).
type Server struct {
	cfg     Config
	core    Core
	domain  string // lower case, fully qualified
	ttl     uint32
	res     *resolver
	metrics *metrics

	// mu guards udp, tcp and addr.
	mu   sync.Mutex
	udp  *mdns.Server
	tcp  *mdns.Server
	addr string
	wg   sync.WaitGroup
}

// New validates cfg and builds the door, registering its metrics with
// reg; it opens no socket.
func New(cfg Config, core Core, reg prometheus.Registerer) (*Server, error) {
	if cfg.Domain == "" {
		cfg.Domain = DefaultDomain
	}
	if cfg.MaxTCPConns <= 0 {
		cfg.MaxTCPConns = DefaultMaxTCPConns
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	domain := mdns.Fqdn(strings.ToLower(cfg.Domain))
	if _, ok := mdns.IsDomainName(domain); !ok || domain == "." {
		return nil, fmt.Errorf("dns: config: domain %q is not a domain name", cfg.Domain)
	}
	if cfg.TTL < 0 || cfg.TTL > 24*time.Hour || cfg.TTL%time.Second != 0 {
		return nil, fmt.Errorf("dns: config: ttl %v must be whole seconds from 0 to 24h", cfg.TTL)
	}
	s := &Server{cfg: cfg, core: core, domain: domain, ttl: uint32(cfg.TTL / time.Second),
		res: &resolver{core: core, now: cfg.Now}, metrics: newMetrics()}
	if reg != nil {
		if err := s.metrics.register(reg); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Start binds UDP and TCP on the configured address and serves in the
// background.
func (s *Server) Start() error {
	pc, ln, err := listen(s.cfg.Addr)
	if err != nil {
		return err
	}
	udp := &mdns.Server{PacketConn: pc, Handler: s, UDPSize: maxUDPSize}
	tcp := &mdns.Server{Listener: netutil.LimitListener(ln, s.cfg.MaxTCPConns), Handler: s,
		ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second, MaxTCPQueries: 256}
	s.mu.Lock()
	s.udp, s.tcp, s.addr = udp, tcp, pc.LocalAddr().String()
	s.mu.Unlock()
	for _, srv := range []*mdns.Server{udp, tcp} {
		started, failed := make(chan struct{}), make(chan error, 1)
		srv.NotifyStartedFunc = func() { close(started) }
		s.wg.Go(func() {
			err := srv.ActivateAndServe()
			if err != nil {
				s.cfg.Logger.Error("dns server stopped", "err", err)
			}
			failed <- err
		})
		select {
		case <-started:
		case err := <-failed: // it stopped before it started
			pc.Close()
			ln.Close()
			_ = s.Close()
			return fmt.Errorf("dns: serve: %v", err)
		}
	}
	return nil
}

// listen binds UDP on addr and TCP on the same port; with port 0 it
// retries when the port UDP got is taken for TCP.
func listen(addr string) (net.PacketConn, net.Listener, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("dns: listen %q: %w", addr, err)
	}
	for try := 0; ; try++ {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("dns: listen udp %s: %w", addr, err)
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, ln, nil
		}
		pc.Close()
		if port != "0" || try == 20 {
			return nil, nil, fmt.Errorf("dns: listen tcp %s: %w", addr, err)
		}
	}
}

// Addr returns the bound address (host:port, UDP and TCP), or "" before
// Start.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Close stops serving and waits for the servers to stop. Safe to call
// twice or without Start.
func (s *Server) Close() error {
	s.mu.Lock()
	udp, tcp := s.udp, s.tcp
	s.udp, s.tcp = nil, nil
	s.mu.Unlock()
	var errs []error
	for _, srv := range []*mdns.Server{udp, tcp} {
		if srv == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := srv.ShutdownContext(ctx); err != nil {
			errs = append(errs, fmt.Errorf("dns: shutdown: %w", err))
		}
		cancel()
	}
	s.wg.Wait()
	return errors.Join(errs...)
}
