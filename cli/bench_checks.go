package cli

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/roster-io/roster/internal/bench"
)

// benchChecksMode is `roster bench checks`.
func benchChecksMode(mode func(name, usage, desc string, extra []cli.Flag, run benchRun) *cli.Command) *cli.Command {
	return mode("checks", "the cost of server-side health checks: agent CPU per check, read latency with and without",
		"Opens listeners on 127.0.0.1 and registers --instances persistent instances over\n--services on their ports (--closed percent on closed ports), waits until every\nnode lists the closed ones unhealthy, then lists a small service at --read-rate\nfor --duration with the TCP checks running and again with every checked cluster\nset to NONE; with --local, a third window is the floor: NONE, and this process\nburning the CPU the checks cost the agents. Reports checks a second, the agents'\nCPU per check (--local), the targets' (this process's), and the read latency of\nthe windows. The instances are deleted after.",
		[]cli.Flag{
			&cli.IntFlag{Name: "instances", Value: 10000, Usage: "persistent instances checked"},
			&cli.IntFlag{Name: "services", Value: 100, Usage: "services to spread them over"},
			&cli.IntFlag{Name: "closed", Value: 10, Usage: "percent of the instances on closed ports"},
			&cli.IntFlag{Name: "read-rate", Value: 500, Usage: "list requests a second in each window"},
		}, benchChecks)
}

func benchChecks(ctx context.Context, c *cli.Context, s *benchSetup) ([]*bench.Report, error) {
	n, svcs, closed, rate := c.Int("instances"), c.Int("services"), c.Int("closed"), c.Int("read-rate")
	switch {
	case n < 1 || n > 100_000:
		return nil, badUsage(c, fmt.Errorf("--instances %d is not in 1..100000", n))
	case svcs < 1 || svcs > n || (n+svcs-1)/svcs > 1000:
		return nil, badUsage(c, fmt.Errorf("--services %d: need 1 ≤ --services ≤ --instances and at most 1000 instances a service", svcs))
	case closed < 0 || closed > 100:
		return nil, badUsage(c, fmt.Errorf("--closed %d is not a percentage (0..100)", closed))
	case rate < 1 || rate > 100_000:
		return nil, badUsage(c, fmt.Errorf("--read-rate %d is not in 1..100000", rate))
	}
	r, err := bench.Checks(ctx, s.env, bench.ChecksConfig{Instances: n, Services: svcs, ClosedPercent: closed, ReadRate: rate})
	if r == nil {
		return nil, err
	}
	return []*bench.Report{r}, err
}
