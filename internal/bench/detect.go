package bench

// The detect mode needs a local cluster: it SIGKILLs one process (by PID)
// and polls every survivor until the victim is gone from
// /v1/cluster/members and /v1/cluster/owner names another node for every
// service the victim owned. Then it restarts the victim (same name, new
// ports), waits for the cluster to be whole again, and repeats. Every
// poll also checks that each survivor lists every other survivor: a live
// node dropped from a view is a false failure detection, and is counted.

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/roster-io/roster/client"
	"github.com/roster-io/roster/internal/agentproc"
	"github.com/roster-io/roster/internal/await"
)

// DetectConfig configures the detect mode.
type DetectConfig struct {
	Runs     int
	Services int           // services registered so the victim owns some
	Poll     time.Duration // default 20ms
	Within   time.Duration // cap per run; default 30s
	// LoadWorkers, if > 0, keeps that many clients registering, beating
	// and listing on every live node throughout.
	LoadWorkers int
}

// Detect runs the detect mode against lc.
func Detect(ctx context.Context, env *Env, lc *agentproc.Cluster, cfg DetectConfig) (*Report, error) {
	procs := lc.Live()
	if len(procs) < 2 {
		return nil, fmt.Errorf("bench: detect: needs --local 2 or more, not %d", len(procs))
	}
	if cfg.Runs <= 0 {
		cfg.Runs = 1
	}
	if cfg.Services <= 0 {
		cfg.Services = 30
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 20 * time.Millisecond
	}
	if cfg.Within <= 0 {
		cfg.Within = 30 * time.Second
	}
	started := time.Now()
	c := env.Client
	prefix := "bench-detect-" + runID() + "-"
	services := make([]string, cfg.Services)
	for i := range services {
		services[i] = prefix + strconv.Itoa(i)
		if err := c.Form(ctx, http.MethodPost, procs[i%len(procs)].URL(), "/nacos/v1/ns/instance", registerForm(services[i], i+1, false, longLived)); err != nil {
			return nil, fmt.Errorf("bench: detect: register: %w", err)
		}
	}
	r := &Report{Mode: "detect", Params: env.params()}
	r.Params["runs"] = strconv.Itoa(cfg.Runs)
	r.Params["services"] = strconv.Itoa(cfg.Services)
	r.Params["poll"] = cfg.Poll.String()

	// The load's targets: every node, the victim included while it is
	// down, until its restart.
	var targets atomic.Pointer[[]string]
	setTargets := func(procs []*agentproc.Proc) {
		var urls []string
		for _, p := range procs {
			urls = append(urls, p.URL())
		}
		targets.Store(&urls)
	}
	setTargets(procs)
	if cfg.LoadWorkers > 0 {
		loadCtx, stopLoad := context.WithCancel(ctx)
		load := &detectLoad{}
		load.start(loadCtx, c, cfg.LoadWorkers, prefix, func() []string { return *targets.Load() })
		loadStarted := time.Now()
		defer func() {
			stopLoad()
			load.wait()
			secs := time.Since(loadStarted).Seconds()
			r.Add("load: client requests answered", float64(load.ok.Load())/secs, UnitReqPerSec)
			r.Add("load: client requests failed (mostly to the killed node)", float64(load.failed.Load()), UnitCount)
		}()
		r.Params["load workers"] = strconv.Itoa(cfg.LoadWorkers)
	}
	var dropped, owned Latencies
	falseDrops := 0 // polls in which a survivor did not list another survivor
	for run := 0; run < cfg.Runs && ctx.Err() == nil; run++ {
		v := 1 + run%(len(procs)-1)
		procs = lc.Live()
		setTargets(procs)
		victim := procs[v]
		var survivors []*client.Node
		for i, p := range procs {
			if i != v {
				n, err := c.node(p.URL())
				if err != nil {
					return finish(r, started), err
				}
				survivors = append(survivors, n)
			}
		}
		// The services the victim owns now.
		var victimOwns []string
		for _, s := range services {
			o, err := survivors[0].Owner(ctx, client.Service{Namespace: Namespace, Name: s})
			if err != nil {
				return finish(r, started), fmt.Errorf("bench: detect: owner: %w", err)
			}
			if o.Owner == victim.Name {
				victimOwns = append(victimOwns, s)
			}
		}
		if len(victimOwns) == 0 {
			r.Notef("run %d: %s owned none of the %d services", run+1, victim.Name, len(services))
		}
		killed := time.Now()
		if err := lc.Kill(victim.Name); err != nil {
			return finish(r, started), err
		}
		droppedAt := make([]time.Time, len(survivors))
		ownedAt := make([]time.Time, len(survivors))
		_, err := await.Until(ctx, cfg.Poll, cfg.Within, func() bool {
			all := true
			for i, s := range survivors {
				ms, err := s.Members(ctx)
				if err == nil {
					// A survivor missing from another survivor's view is a
					// false failure detection.
					for _, other := range procs {
						if other != victim && !slices.ContainsFunc(ms, func(m client.Member) bool { return m.Name == other.Name }) {
							falseDrops++
						}
					}
				}
				if droppedAt[i].IsZero() && err == nil && !slices.ContainsFunc(ms, func(m client.Member) bool { return m.Name == victim.Name }) {
					droppedAt[i] = time.Now()
				}
				if ownedAt[i].IsZero() && ownersMoved(ctx, s, victimOwns, victim.Name) {
					ownedAt[i] = time.Now()
				}
				all = all && !droppedAt[i].IsZero() && !ownedAt[i].IsZero()
			}
			return all
		})
		if err != nil {
			return finish(r, started), fmt.Errorf("bench: detect: run %d: survivors did not drop %s within %v: %w", run+1, victim.Name, cfg.Within, err)
		}
		dropped = append(dropped, latest(droppedAt).Sub(killed))
		owned = append(owned, latest(append(droppedAt, ownedAt...)).Sub(killed))
		// Restart on new ports; the load moves to the new process at once.
		if _, err = lc.Start(ctx, victim.Name, "", ""); err == nil {
			setTargets(lc.Live())
			err = lc.WaitReady(ctx, StartWithin)
		}
		if err != nil {
			return finish(r, started), fmt.Errorf("bench: detect: restart %s: %w", victim.Name, err)
		}
	}
	dropped, owned = NewLatencies(dropped), NewLatencies(owned)
	r.Add("runs", float64(len(owned)), UnitCount)
	r.AddMs("dropped from members, median", dropped.Percentile(0.5))
	r.AddMs("dropped from members, max", dropped.Max())
	r.AddMs("dropped and services re-owned, median", owned.Percentile(0.5))
	r.AddMs("dropped and services re-owned, max", owned.Max())
	r.Add("survivors missing from a survivor's view (polls)", float64(falseDrops), UnitCount)
	return finish(r, started), ctx.Err()
}

// ownersMoved reports whether the node s names an owner other than victim
// (and not none) for every one of services.
func ownersMoved(ctx context.Context, s *client.Node, services []string, victim string) bool {
	for _, svc := range services {
		if o, err := s.Owner(ctx, client.Service{Namespace: Namespace, Name: svc}); err != nil || o.Owner == victim || o.Owner == "" {
			return false
		}
	}
	return true
}

// latest returns the latest of ts.
func latest(ts []time.Time) time.Time {
	var out time.Time
	for _, t := range ts {
		if t.After(out) {
			out = t
		}
	}
	return out
}
