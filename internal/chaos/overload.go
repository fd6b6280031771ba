package chaos

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// The overload scenario: the beating instances and the stream of the
// other scenarios, and the flood (flood.go) at FloodFactor times what the
// cluster was measured to hold, while nodes are SIGKILLed and restarted
// as in the rolling scenario. The instances' beats shed with 429 count as
// tried (Bounds.ShedIsTrying): an instance that kept beating must never
// be listed unhealthy or missing, however many of its beats the nodes
// shed. The flood's requests must be answered promptly, most with 429 if
// need be (checks_flood.go), and once it stops the cluster must settle
// like any other.

// FloodFactor is how many times the measured capacity the flood offers.
const FloodFactor = 2

// floodProbeFor is how long the flood measures the cluster's capacity
// before the faults begin.
const floodProbeFor = 4 * time.Second

// overload measures the capacity, then floods at FloodFactor times it
// with rolling SIGKILLs until ctx ends.
func (r *run) overload(ctx context.Context) error {
	f := newFlood(r.c, r.h, r.svcs, r.cfg.Timings)
	defer f.flush()
	mctx, stopMachine := context.WithCancel(context.Background())
	var mwg sync.WaitGroup
	mwg.Go(func() { WatchMachine(mctx, r.c, r.h) })
	defer func() { stopMachine(); mwg.Wait() }()
	seed := r.rng.Uint64()
	capacity, from, to := f.probe(ctx, floodProbeFor, seed)
	if ctx.Err() != nil {
		return nil
	}
	if capacity <= 0 {
		return fmt.Errorf("chaos: overload: the probe saw no request answered 200 in %v", floodProbeFor)
	}
	plan := FloodPlan{Capacity: capacity, Offered: FloodFactor * capacity, ProbeFrom: from, ProbeTo: to,
		Connections: floodConns * r.cfg.Nodes, PerConn: floodDepth}
	fctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	plan.OfferFrom = time.Now()
	r.logf("capacity %.0f requests/s answered 200 (probe of %v); flooding at %.0f requests/s over %d connections, SIGKILLs meanwhile",
		capacity, floodProbeFor, plan.Offered, plan.Connections)
	wg.Go(func() { f.run(fctx, FloodOffer, plan.Offered, floodConns, floodDepth, seed+1) })
	err := r.rolling(ctx)
	<-ctx.Done()
	stop()
	plan.OfferTo = time.Now()
	wg.Wait()
	r.h.SetFloodPlan(plan)
	if other := f.firstOther(); other != "" {
		r.logf("flood: first answer neither 200 nor 429: %s", other)
	}
	return err
}
