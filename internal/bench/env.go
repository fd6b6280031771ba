package bench

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/roster-io/roster/client"
	"github.com/roster-io/roster/internal/await"
)

// Env is what every mode shares: the client, the nodes to drive, the load
// shape and the floor measured in this run, if any.
type Env struct {
	Client      *Client
	Concurrency int
	Duration    time.Duration
	// Floor, if not nil, is the floor measured in this run; throughputs
	// are reported as ratios to it.
	Floor *FloorResult
	// PIDs, if set, returns the agents' process ids (a --local cluster);
	// modes then report the memory the agents use.
	PIDs func() []int
}

// params are the report parameters every mode shares.
func (e *Env) params() map[string]string {
	return map[string]string{
		"nodes":       strconv.Itoa(len(e.Client.Addrs)),
		"concurrency": strconv.Itoa(e.Concurrency),
	}
}

func (e *Env) getFloor() float64 {
	if e.Floor == nil {
		return 0
	}
	return e.Floor.GetRate
}

func (e *Env) postFloor() float64 {
	if e.Floor == nil {
		return 0
	}
	return e.Floor.PostRate
}

// finish stamps the report with its start and elapsed time.
func finish(r *Report, started time.Time) *Report {
	r.Started = started.UTC()
	r.Elapsed = time.Since(started).Seconds()
	return r
}

// hasPrefixCount sums the instances of bench services whose name starts
// with prefix.
func hasPrefixCount(svcs []client.ServiceCount, prefix string) (instances, healthy int) {
	for _, s := range svcs {
		if strings.HasPrefix(s.Service, prefix) {
			instances += s.Instances
			healthy += s.Healthy
		}
	}
	return instances, healthy
}

// waitAllList polls every node until each lists at least want instances in
// services named prefix*, and returns when the last node got there (zero
// if they never did within `within`).
func waitAllList(ctx context.Context, c *Client, prefix string, want int, interval, within time.Duration) (time.Time, error) {
	nodes := make([]*client.Node, len(c.Addrs))
	for i, a := range c.Addrs {
		n, err := c.node(a)
		if err != nil {
			return time.Time{}, err
		}
		nodes[i] = n
	}
	done := make([]bool, len(nodes))
	return await.Until(ctx, interval, within, func() bool {
		all := true
		for i, nd := range nodes {
			if done[i] {
				continue
			}
			svcs, err := nd.Services(ctx, Namespace, "")
			if n, _ := hasPrefixCount(svcs, prefix); err == nil && n >= want {
				done[i] = true
				continue
			}
			all = false
		}
		return all
	})
}
