package agent

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/roster-io/roster/door/consul"
	dnsdoor "github.com/roster-io/roster/door/dns"
)

// Doors configures the front doors served on listeners of their own, off
// the HTTP port. Each is off while its address is empty.
type Doors struct {
	// DNSAddr is the DNS listen address, UDP and TCP (host:port; port 0
	// picks a free one). Default "" (off).
	DNSAddr string
	// DNSDomain is the zone DNS answers for. Default "roster.".
	DNSDomain string
	// DNSTTL is the TTL of DNS records, whole seconds. Default 5s.
	DNSTTL time.Duration
	// ConsulHTTPAddr is the listen address of the Consul-compatible read
	// API (host:port; port 0 picks a free one). It is served over TLS when
	// the HTTP port is. Default "" (off).
	ConsulHTTPAddr string
	// ConsulDatacenter is the datacenter name the Consul-compatible API
	// reports. Default "dc1".
	ConsulDatacenter string
}

// DefaultDoors returns the doors' defaults: all off.
func DefaultDoors() Doors {
	return Doors{DNSDomain: dnsdoor.DefaultDomain, DNSTTL: dnsdoor.DefaultTTL, ConsulDatacenter: consul.DefaultDatacenter}
}

// validateDoors checks the doors' settings against the rest of c.
func (c *Config) validateDoors() error {
	if c.ConsulHTTPAddr != "" {
		if _, _, err := net.SplitHostPort(c.ConsulHTTPAddr); err != nil {
			return fmt.Errorf("agent: config: consul http address %q: %w", c.ConsulHTTPAddr, err)
		}
		if c.ConsulDatacenter == "" {
			return errors.New("agent: config: consul datacenter is empty")
		}
	}
	if c.DNSAddr == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(c.DNSAddr); err != nil {
		return fmt.Errorf("agent: config: dns address %q: %w", c.DNSAddr, err)
	}
	if c.ACL.Enabled() && c.ACL.Read {
		return errors.New("agent: config: --dns answers without tokens, so it cannot serve a node whose reads need one (--acl-read)")
	}
	return nil
}

// doors are the running doors on listeners of their own.
type doors struct {
	dns      *dnsdoor.Server // nil when off
	consul   *http.Server    // nil when off
	consulLn net.Listener    // set by startDoors
}

// buildDoors builds the doors Config turns on; it opens nothing.
func (a *Agent) buildDoors() error {
	if a.cfg.DNSAddr != "" {
		s, err := dnsdoor.New(dnsdoor.Config{Addr: a.cfg.DNSAddr, Domain: a.cfg.DNSDomain, TTL: a.cfg.DNSTTL,
			Logger: a.log, Now: a.cfg.Now}, a.node, a.reg)
		if err != nil {
			return err
		}
		a.doors.dns = s
	}
	if a.cfg.ConsulHTTPAddr != "" {
		d := consul.New(consul.Config{Datacenter: a.cfg.ConsulDatacenter, MaxWait: a.cfg.MaxWait, Addr: a.ConsulAddr}, a.node, a.gate)
		cfg := a.cfg
		a.doors.consul = &http.Server{
			Handler:           d.Handler(),
			ReadHeaderTimeout: cfg.ReadHeaderTimeout,
			ReadTimeout:       cfg.ReadTimeout,
			WriteTimeout:      cfg.MaxWait + cfg.MaxWait/16 + cfg.ReadTimeout,
			IdleTimeout:       cfg.IdleTimeout,
			MaxHeaderBytes:    cfg.MaxHeaderBytes,
			ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug),
		}
		watchUnused(a.doors.consul)
	}
	return nil
}

// startDoors opens the doors' listeners and serves them.
func (a *Agent) startDoors() error {
	if a.doors.dns != nil {
		if err := a.doors.dns.Start(); err != nil {
			return err
		}
		a.log.Info("dns serving", "addr", a.doors.dns.Addr())
	}
	if a.doors.consul != nil {
		ln, err := net.Listen("tcp", a.cfg.ConsulHTTPAddr)
		if err != nil {
			return fmt.Errorf("listen consul http %s: %w", a.cfg.ConsulHTTPAddr, err)
		}
		if a.cfg.TLS != nil {
			ln = tls.NewListener(ln, a.cfg.TLS)
		}
		a.mu.Lock()
		a.doors.consulLn = ln
		a.mu.Unlock()
		srv := a.doors.consul
		a.wg.Go(func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				a.log.Error("consul http server stopped", "err", err)
			}
		})
		a.log.Info("consul-compatible api serving", "addr", ln.Addr().String())
	}
	return nil
}

// stopDoors closes the doors' listeners; the Consul API's requests drain
// until ctx ends.
func (a *Agent) stopDoors(ctx context.Context) error {
	var errs []error
	if a.doors.dns != nil {
		errs = append(errs, a.doors.dns.Close())
	}
	if a.doors.consul != nil {
		if err := a.doors.consul.Shutdown(ctx); err != nil {
			_ = a.doors.consul.Close()
			errs = append(errs, fmt.Errorf("drain consul http: %w", err))
		}
	}
	return errors.Join(errs...)
}

// ConsulAddr returns the bound address of the Consul-compatible API, or
// "" when it is off or before Start.
func (a *Agent) ConsulAddr() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.doors.consulLn == nil {
		return ""
	}
	return a.doors.consulLn.Addr().String()
}

// DNSAddr returns the bound DNS address, or "" when DNS is off or before
// Start.
func (a *Agent) DNSAddr() string {
	if a.doors.dns == nil {
		return ""
	}
	return a.doors.dns.Addr()
}

// DNS returns the DNS door (nil when off), for tests that drive its
// handler directly.
func (a *Agent) DNS() *dnsdoor.Server { return a.doors.dns }
