package cli

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/roster-io/roster/agent"
)

// overloadFlags are the agent's overload flags: admission control in the
// gate and the expiry brake in the core.
func overloadFlags(def agent.Config) []cli.Flag {
	return []cli.Flag{
		&cli.DurationFlag{Name: "shed-latency", Value: def.ShedLatency, EnvVars: envVar("shed-latency"),
			Usage: "shed a growing share of client requests (429, Retry-After: 1) while goroutines wait longer than this for a CPU (90th percentile over 50 ms); 0: never shed"},
		&cli.DurationFlag{Name: "shed-queue-age", Value: def.ShedQueueAge, EnvVars: envVar("shed-queue-age"),
			Usage: "answer 429 (Retry-After: 1) at once to a client read that waited longer than this on its connection before it could start, or a write that waited twice this (requests pipelined on few connections); 0: never"},
		&cli.DurationFlag{Name: "expiry-brake-lag", Value: def.ExpiryBrakeLag, EnvVars: envVar("expiry-brake-lag"),
			Usage: "hold expiries while a beat has waited longer than this to be applied or the node sheds requests; 0: never hold"},
		&cli.BoolFlag{Name: "peer-stream", Value: def.PeerStream, EnvVars: envVar("peer-stream"),
			Usage: "send internal traffic to each peer over one persistent connection on its HTTP port instead of one HTTP request each (--peer-stream=false: HTTP requests only)"},
		&cli.DurationFlag{Name: "peer-batch-pace", Value: def.PeerBatchPace, EnvVars: envVar("peer-batch-pace"),
			Usage: "under load, send a peer the next batch of writes no sooner than this after the last, so they travel in fewer, larger frames (at most 100ms); 0: send each batch at once"},
		&cli.DurationFlag{Name: "handoff-pace", Value: def.HandoffPace, EnvVars: envVar("handoff-pace"),
			Usage: "under load, hand the next batch of beats to a service's owner no sooner than this after the last (at most 100ms; 20ms cuts the CPU per handed-off beat below the peak, but deepens the dips past it); 0: send each batch at once"},
	}
}

// applyOverload reads the overload flags into cfg.
func applyOverload(c *cli.Context, cfg *agent.Config) error {
	cfg.ShedLatency = c.Duration("shed-latency")
	cfg.ShedQueueAge = c.Duration("shed-queue-age")
	cfg.ExpiryBrakeLag = c.Duration("expiry-brake-lag")
	cfg.PeerStream = c.Bool("peer-stream")
	cfg.PeerBatchPace = c.Duration("peer-batch-pace")
	cfg.HandoffPace = c.Duration("handoff-pace")
	for _, f := range []string{"shed-latency", "shed-queue-age", "expiry-brake-lag", "peer-batch-pace", "handoff-pace"} {
		if c.Duration(f) < 0 {
			return fmt.Errorf("--%s %v must not be negative", f, c.Duration(f))
		}
	}
	for _, f := range []string{"peer-batch-pace", "handoff-pace"} {
		if c.Duration(f) > agent.MaxPeerBatchPace {
			return fmt.Errorf("--%s %v must be at most %v", f, c.Duration(f), agent.MaxPeerBatchPace)
		}
	}
	return nil
}
