package cli

// The agent's health-check flags, kept apart from agent.go: the
// server-side checks of persistent instances (package health).

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/roster-io/roster/agent"
)

// healthFlags are the agent's health-check flags, with defaults from def.
func healthFlags(def agent.Config) []cli.Flag {
	h := def.HealthCheck
	return []cli.Flag{
		&cli.DurationFlag{Name: "health-check-interval", Value: h.Interval, EnvVars: envVar("health-check-interval"),
			Usage: "mean time between two server-side checks of one persistent instance (±20% jitter)"},
		&cli.DurationFlag{Name: "health-check-timeout", Value: h.Timeout, EnvVars: envVar("health-check-timeout"),
			Usage: "time one TCP or HTTP health check may take"},
		&cli.IntFlag{Name: "health-check-workers", Value: h.Workers, EnvVars: envVar("health-check-workers"),
			Usage: "HTTP health checks run at once (on Linux a TCP check needs no worker)"},
		&cli.StringSliceFlag{Name: "health-check-allow", EnvVars: envVar("health-check-allow"),
			Usage: "`CIDR` networks health checks may connect to (repeatable or comma-separated; default: any)"},
	}
}

// applyHealth reads the health-check flags into cfg.
func applyHealth(c *cli.Context, cfg *agent.Config) error {
	h := &cfg.HealthCheck
	h.Interval, h.Timeout, h.Workers = c.Duration("health-check-interval"), c.Duration("health-check-timeout"), c.Int("health-check-workers")
	for _, s := range splitList(c.StringSlice("health-check-allow")) {
		p, err := netip.ParsePrefix(strings.TrimSpace(s))
		if err != nil {
			ip, ierr := netip.ParseAddr(strings.TrimSpace(s))
			if ierr != nil {
				return fmt.Errorf("--health-check-allow %q is not a CIDR network (10.0.0.0/8) or an IP", s)
			}
			p = netip.PrefixFrom(ip, ip.BitLen())
		}
		h.Allow = append(h.Allow, p.Masked())
	}
	if err := h.Validate(); err != nil {
		return fmt.Errorf("--health-check-*: %v", err)
	}
	return nil
}
