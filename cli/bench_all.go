package cli

import (
	"context"
	"net/url"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/roster-io/roster/internal/bench"
)

// benchAll runs every mode in turn against one cluster: the figures of the
// README's Performance table. --full uses the targets' scale (100,000
// instances registered and beating for 60 s); the default is a quicker
// tenth of it. Each throughput gets a floor measured just before it, of
// the same request shape.
func benchAll(ctx context.Context, c *cli.Context, s *benchSetup) ([]*bench.Report, error) {
	regN, beatN, beatFor := 10000, 20000, 30*time.Second
	if c.Bool("full") {
		regN, beatN, beatFor = 100000, 100000, 60*time.Second
	}
	conc := s.env.Concurrency
	var out []*bench.Report
	step := func(rs []*bench.Report, err error) error {
		for _, r := range rs {
			if r != nil {
				out = append(out, r)
			}
		}
		return err
	}

	s.env.Duration = 2 * time.Minute // a cap: register stops when all are in
	if err := step(withFloor(ctx, c, s, func() (*bench.Report, error) {
		return bench.Register(ctx, s.env, bench.RegisterConfig{Instances: regN, Services: 100})
	})); err != nil {
		return out, err
	}

	urls, body, err := bench.ReadSetup(ctx, s.env.Client, 20)
	if err != nil {
		return out, err
	}
	s.floor.GetBody = body
	s.env.Duration = 10 * time.Second
	// Throughput with many clients, then latency with few: at 64 clients on
	// two cores the generator's own queueing sets the p99 (see the floor's).
	for _, n := range []int{conc, 8} {
		s.env.Concurrency, s.floor.Concurrency = n, n
		if err := step(withFloor(ctx, c, s, func() (*bench.Report, error) {
			return bench.Read(ctx, s.env, bench.ReadConfig{Instances: 20}, urls)
		})); err != nil {
			return out, err
		}
	}
	s.env.Concurrency, s.floor.Concurrency = conc, conc

	r, err := bench.Lag(ctx, s.env, bench.LagConfig{Writes: 300})
	if err := step([]*bench.Report{r}, err); err != nil {
		return out, err
	}

	s.floor.PostForm = func(int) url.Values { // the shape of a light beat
		return url.Values{"serviceName": {"bench-beat-0"}, "namespaceId": {bench.Namespace}, "ip": {"10.0.0.1"}, "port": {"8080"}}
	}
	s.env.Duration = beatFor
	s.env.Concurrency = max(conc, 256)
	if err := step(withFloor(ctx, c, s, func() (*bench.Report, error) {
		return bench.Beat(ctx, s.env, bench.BeatConfig{Instances: beatN, Interval: 5 * time.Second})
	})); err != nil {
		return out, err
	}
	s.env.Concurrency = conc

	if s.local != nil && len(s.local.Live()) >= 2 {
		// Last: it restarts nodes on new ports.
		r, err := bench.Detect(ctx, s.env, s.local, bench.DetectConfig{Runs: 5, LoadWorkers: 64})
		return out, step([]*bench.Report{r}, err)
	}
	return out, nil
}
