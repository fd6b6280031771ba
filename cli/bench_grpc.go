package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/roster-io/roster/internal/bench"
)

// benchGRPC runs `roster bench grpc`.
func benchGRPC(ctx context.Context, c *cli.Context, s *benchSetup) ([]*bench.Report, error) {
	n, conns, iv, pushes := c.Int("instances"), c.Int("connections"), c.Duration("interval"), c.Int("pushes")
	switch {
	case n < 1 || n > 1_000_000:
		return nil, badUsage(c, fmt.Errorf("--instances %d is not in 1..1000000", n))
	case conns < 1 || conns > n || conns > 20000:
		return nil, badUsage(c, fmt.Errorf("--connections %d is not in 1..min(--instances, 20000)", conns))
	case iv < 100*time.Millisecond || iv > time.Minute:
		return nil, badUsage(c, fmt.Errorf("--interval %v is not in [100ms, 1m]", iv))
	case pushes < 1 || pushes > 10000:
		return nil, badUsage(c, fmt.Errorf("--pushes %d is not in 1..10000", pushes))
	}
	r, err := bench.GRPC(ctx, s.env, bench.GRPCConfig{Instances: n, Connections: conns, Interval: iv, Pushes: pushes})
	if r == nil {
		return nil, err
	}
	return []*bench.Report{r}, err
}
