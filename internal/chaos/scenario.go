package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Scenarios. Each starts a fresh cluster, registers the instances, runs
// its faults for Config.Duration while the observer polls, then restores
// every node, heals, lets the cluster settle and checks the history.

// Scenarios lists the scenario names in the order "all" runs them.
var Scenarios = []string{"rolling", "owner", "client", "churn", "partition", "hostile"}

// Config is one run's setup.
type Config struct {
	// Bin is the roster binary.
	Bin string
	// Seed makes the faults and the workload replayable.
	Seed uint64
	// Nodes is the cluster size. Default 3.
	Nodes int
	// Instances is how many simulated instances beat. Default 50.
	Instances int
	// Duration is how long faults are injected. Default 30s.
	Duration time.Duration
	// Timings are the simulated instances' heartbeat timings.
	Timings Timings
	// Hostile runs the hostile clients during the scenario (the "hostile"
	// scenario always does).
	Hostile bool
	// IdleConns is how many idle connections the hostile clients hold.
	// Default 2000.
	IdleConns int
	// Netns partitions through network namespaces when the machine allows
	// it (root and iproute2); otherwise, or when false, through the
	// agents' --debug-faults.
	Netns bool
	// LogDir, when set, keeps every agent's output there (at LogLevel,
	// default warn), one file per process.
	LogDir, LogLevel string
	// Bounds are the checker's limits. Default BoundsFor(Timings).
	Bounds Bounds
	// Log gets progress lines; nil discards them.
	Log io.Writer
}

// Summary is one scenario's outcome.
type Summary struct {
	Scenario         string
	Seed             uint64
	Nodes, Instances int
	Faults           int
	Acked, Failed    int
	Hostile          int
	Mechanism        string
	Skipped          string
	Result           Result
}

type run struct {
	cfg     Config
	name    string
	h       *History
	c       *Cluster
	w       *Workload
	rng     *rand.Rand
	svcs    []string
	next    int // next node number, for new names
	mech    string
	hostile int
	logMu   sync.Mutex // serializes writes to cfg.Log
}

func (r *run) logf(format string, a ...any) {
	r.logMu.Lock()
	defer r.logMu.Unlock()
	if r.cfg.Log != nil {
		fmt.Fprintf(r.cfg.Log, "[%s] "+format+"\n", append([]any{r.name}, a...)...)
	}
}

func (r *run) between(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(r.rng.Int64N(int64(hi-lo)+1))
}

// Run runs one scenario and checks it.
func Run(ctx context.Context, name string, cfg Config) Summary {
	if cfg.Nodes <= 0 {
		cfg.Nodes = 3
	}
	if cfg.Instances <= 0 {
		cfg.Instances = 50
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 30 * time.Second
	}
	if cfg.Bounds == (Bounds{}) {
		cfg.Bounds = BoundsFor(cfg.Timings)
	}
	if cfg.IdleConns <= 0 {
		cfg.IdleConns = 2000
	}
	seed := cfg.Seed ^ uint64(len(name))*0x9e3779b97f4a7c15
	for _, ch := range name {
		seed = seed*31 + uint64(ch)
	}
	r := &run{cfg: cfg, name: name, h: NewHistory(), rng: rand.New(rand.NewPCG(seed, 1))}
	sum := Summary{Scenario: name, Seed: cfg.Seed, Nodes: cfg.Nodes, Instances: cfg.Instances}
	debug := SupportsDebugFaults(cfg.Bin)
	var net *Netns
	if name == "partition" {
		var why error
		if cfg.Netns {
			if why = NetnsAvailable(); why == nil {
				n, err := NewNetns(seed)
				if err != nil {
					why = err
				} else {
					net = n
					defer func() {
						if err := net.Close(); err != nil {
							r.logf("netns cleanup: %v", err)
						}
					}()
					r.mech = net.Describe()
				}
			}
		}
		if net == nil {
			if !debug {
				sum.Skipped = fmt.Sprintf("no network namespaces (%v) and the agent has no --debug-faults", why)
				return sum
			}
			r.mech = "in-process fault injection (PUT /debug/faults)"
			if why != nil {
				r.mech += fmt.Sprintf("; network namespaces unavailable: %v", why)
			}
		}
		r.logf("partition mechanism: %s", r.mech)
	}
	r.c = NewCluster(cfg.Bin, r.h, debug, net)
	if cfg.LogDir != "" {
		dir := filepath.Join(cfg.LogDir, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return r.harnessFail(sum, err)
		}
		r.c.KeepLogs(dir, cfg.LogLevel)
	}
	defer r.c.Shutdown()
	for i := 1; i <= cfg.Nodes; i++ {
		if _, err := r.c.Start(r.newName(), "", ""); err != nil {
			return r.harnessFail(sum, err)
		}
	}
	if err := r.c.WaitReady(30 * time.Second); err != nil {
		return r.harnessFail(sum, err)
	}
	if name == "partition" && net == nil {
		code, err := r.c.Block(r.c.Live()[0].Name, nil)
		if code == http.StatusNotFound {
			sum.Skipped = "PUT /debug/faults answers 404 (agent fault injection not available)"
			return sum
		}
		if err != nil {
			return r.harnessFail(sum, err)
		}
	}
	nsvc := min(10, max(1, cfg.Instances/10))
	for i := range nsvc {
		r.svcs = append(r.svcs, fmt.Sprintf("chaos-%02d", i))
	}
	obsCtx, stopObs := context.WithCancel(context.Background())
	var obsWG sync.WaitGroup
	obsWG.Add(2)
	go func() { defer obsWG.Done(); Observe(obsCtx, r.c, r.h, r.svcs, 100*time.Millisecond, 3) }()
	go func() { defer obsWG.Done(); Pace(obsCtx, r.h) }()
	simCtx, stopSims := context.WithCancel(context.Background())
	r.w = NewWorkload(r.c, r.h, cfg.Timings, seed)
	r.spawnInitial(simCtx)
	r.logf("%d nodes ready, %d instances beating in %d services", cfg.Nodes, len(r.w.Sims()), nsvc)

	faultCtx, stopFaults := context.WithTimeout(ctx, cfg.Duration)
	var bg sync.WaitGroup
	bg.Add(1)
	streamSeed := r.rng.Uint64() // r.rng belongs to the fault goroutine from here on
	go func() { defer bg.Done(); r.stream(faultCtx, simCtx, name, streamSeed) }()
	if name == "hostile" || cfg.Hostile {
		bg.Add(1)
		go func() { defer bg.Done(); r.hostile = Hostile(faultCtx, r.c, r.h, seed, cfg.IdleConns) }()
	}
	var err error
	switch name {
	case "rolling":
		err = r.rolling(faultCtx)
	case "owner":
		err = r.ownerKill(faultCtx, simCtx)
	case "client":
		<-faultCtx.Done() // the stream silences and deregisters clients
	case "churn":
		err = r.churn(faultCtx)
	case "partition":
		err = r.partition(faultCtx)
	case "hostile":
		err = r.rolling(faultCtx)
	default:
		err = fmt.Errorf("chaos: unknown scenario %q", name)
	}
	<-faultCtx.Done()
	stopFaults()
	bg.Wait()
	if err == nil {
		err = r.restore()
	}
	if err != nil {
		r.h.AddFinding(Finding{T: time.Now(), What: "harness", Detail: err.Error()})
	}
	// Settle: repair allowance, and every silent instance past its removal
	// deadline (owner-death allowance included), then one more second.
	b := cfg.Bounds
	wait := max(b.Repair, b.DeleteTimeout+b.Slack+b.FailureDetection) + 2*time.Second
	r.logf("faults over; settling %v", wait)
	select {
	case <-time.After(wait):
	case <-ctx.Done():
	}
	checkBadService(r.c, r.h)
	stopObs()
	obsWG.Wait()
	r.h.SetEnd(time.Now())
	stopSims()
	r.w.Wait()
	r.c.Shutdown()

	sum.Acked, sum.Failed, sum.Faults = r.h.Counts()
	sum.Hostile = r.hostile
	sum.Mechanism = r.mech
	sum.Result = Check(r.h, b)
	return sum
}

func (r *run) harnessFail(sum Summary, err error) Summary {
	r.h.AddFinding(Finding{T: time.Now(), What: "harness", Detail: err.Error()})
	sum.Result = Result{Violations: []Violation{{Invariant: "harness", T: time.Now(), Detail: err.Error()}}}
	return sum
}

func (r *run) newName() string {
	r.next++
	return fmt.Sprintf("n%d", r.next)
}

func (r *run) spawnInitial(ctx context.Context) {
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i := range r.cfg.Instances {
		svc := r.svcs[i%len(r.svcs)]
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.w.Spawn(ctx, svc, "")
			<-sem
		}()
	}
	wg.Wait()
}

// stream registers, deregisters and (except in graceful churn) silences
// instances, keeping the population near its start, until ctx ends.
func (r *run) stream(ctx, simCtx context.Context, name string, seed uint64) {
	silentShare := 15
	switch name {
	case "client":
		silentShare = 50
	case "churn":
		silentShare = 0
	}
	rng := rand.New(rand.NewPCG(seed, 2))
	for i := 0; i < 100000; i++ {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Duration(150+rng.IntN(300)) * time.Millisecond):
		}
		n := len(r.w.Sims())
		k := rng.IntN(100)
		switch {
		case n < r.cfg.Instances*8/10 || (k < 45 && n < r.cfg.Instances*12/10):
			r.w.Spawn(simCtx, r.svcs[rng.IntN(len(r.svcs))], "")
		case k < 100-silentShare:
			if s := r.w.Random(); s != nil {
				r.w.Deregister(s)
			}
		default:
			if s := r.w.Random(); s != nil {
				r.w.Silence(s)
			}
		}
	}
}

// maxDown is how many nodes may be down at once: never a majority.
func (r *run) maxDown() int { return max(1, (r.cfg.Nodes-1)/2) }

// killRestart SIGKILLs the named nodes at the same moment, waits pause,
// and restarts them under the same names, on the same addresses or
// (newPorts) new ones, waiting until all are ready.
func (r *run) killRestart(ctx context.Context, names []string, pause time.Duration, newPorts bool) error {
	type down struct{ name, http, gossip string }
	var killed []down
	for _, name := range names {
		p := r.c.Get(name)
		if p == nil {
			continue
		}
		if err := r.c.Stop(name, syscall.SIGKILL); err != nil {
			return err
		}
		killed = append(killed, down{name, p.HTTP, p.Gossip})
	}
	if len(killed) == 0 {
		return nil
	}
	r.logf("SIGKILL %s; restart in %v (new ports: %v)", strings.Join(names, " and "), pause.Round(time.Millisecond), newPorts)
	time.Sleep(pause)
	for _, d := range killed {
		httpAddr, gossipAddr := d.http, d.gossip
		if newPorts {
			httpAddr, gossipAddr = "", ""
		}
		_, err := r.c.Start(d.name, httpAddr, gossipAddr)
		if err != nil && httpAddr != "" && strings.Contains(err.Error(), "address already in use") {
			// Another process on the machine took the dead node's port
			// while it was down; come back on new ports, as a moved node
			// would.
			r.logf("%s: old address taken (%s); restarting on new ports", d.name, httpAddr)
			_, err = r.c.Start(d.name, "", "")
		}
		if err != nil {
			return err
		}
	}
	return r.c.WaitReady(30 * time.Second)
}

// rolling SIGKILLs a random node every few seconds and restarts it after a
// random pause; where the cluster has room for two down at once without
// losing its majority (five nodes and more), every third round kills two
// at the same moment.
func (r *run) rolling(ctx context.Context) error {
	for i := 0; i < 1000 && ctx.Err() == nil; i++ {
		if !sleepCtx(ctx, r.between(1500*time.Millisecond, 3500*time.Millisecond)) {
			return nil
		}
		live := r.c.Live()
		room := len(live) - (r.cfg.Nodes - r.maxDown())
		if room < 1 {
			continue
		}
		count := 1
		if room >= 2 && r.rng.IntN(3) == 0 {
			count = 2
		}
		var victims []string
		for _, k := range r.rng.Perm(len(live))[:count] {
			victims = append(victims, live[k].Name)
		}
		if err := r.killRestart(ctx, victims, r.between(500*time.Millisecond, 3*time.Second), r.rng.IntN(10) < 3); err != nil {
			return err
		}
	}
	return nil
}

// ownerOf asks a live node who owns service.
func (r *run) ownerOf(service string) string {
	for _, p := range r.c.Live() {
		code, body, err := do(http.MethodGet, p.HTTP, "/v1/cluster/owner", url.Values{"service": {service}}, nil, time.Second)
		var o struct{ Owner string }
		if err == nil && code == 200 && json.Unmarshal(body, &o) == nil && o.Owner != "" {
			return o.Owner
		}
	}
	return ""
}

// ownerKill SIGKILLs a service's owner at the worst moments, in turn: in
// the middle of an instance's expiry, keeping it down until a new owner
// must have finished that expiry (so the takeover, not the restarted
// owner, is what the checker holds to the expiry bound); right after a
// register through another node was acknowledged; and the node that took
// such a write.
func (r *run) ownerKill(ctx, simCtx context.Context) error {
	b := r.cfg.Bounds
	step := 0 // which moment comes next; a moment that cannot happen now is tried again
	for i := 0; i < 1000 && ctx.Err() == nil; i++ {
		if !sleepCtx(ctx, r.between(time.Second, 2*time.Second)) {
			return nil
		}
		svc := r.svcs[r.rng.IntN(len(r.svcs))]
		owner := r.ownerOf(svc)
		if owner == "" {
			continue
		}
		var via string
		for _, p := range r.c.Live() {
			if p.Name != owner {
				via = p.Name
			}
		}
		pause := r.between(500*time.Millisecond, 2*time.Second)
		switch step % 3 {
		case 0:
			var victim *Sim
			for _, s := range r.w.Sims() {
				if s.Inst.Service == svc {
					victim = s
				}
			}
			if victim == nil {
				continue
			}
			r.w.Silence(victim)
			silenced := time.Now()
			// Kill the owner before it can mark the instance unhealthy:
			// its deadline runs from the last beat it heard, not from the
			// silence, so a kill after it would find the expiry already
			// replicated and prove nothing about the takeover.
			left := time.Until(victim.Heard().Add(b.BeatTimeout)) - 150*time.Millisecond
			if left < 100*time.Millisecond {
				continue
			}
			time.Sleep(r.between(left/4, left))
			d := time.Since(silenced)
			pause = r.between(b.FailureDetection+b.DeleteTimeout+b.Slack, b.FailureDetection+b.DeleteTimeout+b.Slack+2*time.Second)
			r.logf("%s silent %v ago; killing owner %s mid-expiry, down for %v", victim.Inst, d.Round(time.Millisecond), owner,
				pause.Round(time.Millisecond))
		case 1:
			s := r.w.Spawn(simCtx, svc, via)
			r.logf("register %s via %s acknowledged; killing owner %s", s.Inst, via, owner)
		default:
			// Durability: kill the node that took the write, not the owner.
			s := r.w.Spawn(simCtx, svc, via)
			r.logf("register %s via %s acknowledged; killing %s (took the write)", s.Inst, via, via)
			owner = via
		}
		step++
		if err := r.killRestart(ctx, []string{owner}, pause, false); err != nil {
			return err
		}
	}
	return nil
}

// churn SIGTERMs a node and starts one with a new name, keeping the size.
func (r *run) churn(ctx context.Context) error {
	for i := 0; i < 1000 && ctx.Err() == nil; i++ {
		if !sleepCtx(ctx, r.between(1500*time.Millisecond, 3*time.Second)) {
			return nil
		}
		live := r.c.Live()
		victim := live[r.rng.IntN(len(live))].Name
		r.logf("SIGTERM %s", victim)
		if err := r.c.Stop(victim, syscall.SIGTERM); err != nil {
			return err
		}
		name := r.newName()
		if _, err := r.c.Start(name, "", ""); err != nil {
			return err
		}
		if err := r.c.WaitReady(30 * time.Second); err != nil {
			return err
		}
		r.logf("%s joined", name)
	}
	return nil
}

// partition cuts the cluster into a minority and a majority for longer
// than failure detection, repeatedly, healing in between.
func (r *run) partition(ctx context.Context) error {
	for i := 0; i < 100 && ctx.Err() == nil; i++ {
		if !sleepCtx(ctx, r.between(time.Second, 2*time.Second)) {
			return nil
		}
		live := r.c.Live()
		perm := r.rng.Perm(len(live))
		var a, b []string
		for j, k := range perm {
			if j < len(live)/2 {
				a = append(a, live[k].Name)
			} else {
				b = append(b, live[k].Name)
			}
		}
		r.h.AddEvent(Event{Kind: EvPartition, T: time.Now(), Detail: fmt.Sprintf("%v | %v", a, b)})
		r.logf("partition %v | %v", a, b)
		if err := r.c.Partition(a, b); err != nil {
			return err
		}
		time.Sleep(r.between(5*time.Second, 8*time.Second))
		if err := r.heal(); err != nil {
			return err
		}
	}
	return nil
}

func (r *run) heal() error {
	if err := r.c.Heal(); err != nil {
		return err
	}
	healed := time.Now()
	r.h.AddEvent(Event{Kind: EvHeal, T: healed})
	if err := r.c.WaitReady(30 * time.Second); err != nil {
		return fmt.Errorf("chaos: membership after healing: %w", err)
	}
	r.logf("healed; every node saw the whole cluster again after %v", time.Since(healed).Round(time.Millisecond))
	return nil
}

// restore brings the cluster back to its size with every node ready.
func (r *run) restore() error {
	if r.name == "partition" {
		if err := r.c.Heal(); err != nil {
			return err
		}
	}
	for i := len(r.c.Live()); i < r.cfg.Nodes; i++ {
		if _, err := r.c.Start(r.newName(), "", ""); err != nil {
			return err
		}
	}
	return r.c.WaitReady(30 * time.Second)
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}
