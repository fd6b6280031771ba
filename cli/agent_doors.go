package cli

// The flags of the doors served on listeners of their own: DNS and the
// Consul-compatible read API.

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/roster-io/roster/agent"
)

// doorFlags are the flags of the doors on their own listeners, with
// defaults taken from def.
func doorFlags(def agent.Config) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "dns", EnvVars: envVar("dns"),
			Usage: "serve DNS (UDP and TCP) on `host:port`, e.g. 127.0.0.1:8600: A, AAAA and SRV records of healthy instances (docs/dns.md); off unless set"},
		&cli.StringFlag{Name: "dns-domain", Value: def.DNSDomain, EnvVars: envVar("dns-domain"),
			Usage: "the `domain` DNS answers for; other names are refused"},
		&cli.DurationFlag{Name: "dns-ttl", Value: def.DNSTTL, EnvVars: envVar("dns-ttl"),
			Usage: "TTL of DNS records, whole seconds (0 to 24h)"},
		&cli.StringFlag{Name: "consul-http", EnvVars: envVar("consul-http"),
			Usage: "serve the Consul-compatible read API (catalog, health, blocking queries; docs/consul-api.md) on `host:port`, e.g. 127.0.0.1:8500; off unless set"},
		&cli.StringFlag{Name: "consul-datacenter", Value: def.ConsulDatacenter, EnvVars: envVar("consul-datacenter"),
			Usage: "the datacenter `name` the Consul-compatible API reports"},
	}
}

// applyDoors reads the door flags into cfg. Its errors name the flag.
func applyDoors(c *cli.Context, cfg *agent.Config) error {
	cfg.DNSAddr = c.String("dns")
	cfg.DNSDomain = c.String("dns-domain")
	cfg.DNSTTL = c.Duration("dns-ttl")
	cfg.ConsulHTTPAddr = c.String("consul-http")
	cfg.ConsulDatacenter = c.String("consul-datacenter")
	if cfg.DNSTTL < 0 || cfg.DNSTTL > 24*time.Hour || cfg.DNSTTL%time.Second != 0 {
		return fmt.Errorf("--dns-ttl %v must be whole seconds from 0 to 24h", cfg.DNSTTL)
	}
	if cfg.DNSDomain == "" {
		return fmt.Errorf("--dns-domain is empty")
	}
	if cfg.ConsulDatacenter == "" {
		return fmt.Errorf("--consul-datacenter is empty")
	}
	return nil
}
