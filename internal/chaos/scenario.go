package chaos

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/roster-io/roster/internal/agentproc"
)

// Scenarios. Each starts a fresh cluster, registers the instances, runs
// its faults for Config.Duration while the observer polls, then restores
// every node, heals, lets the cluster settle and checks the history.

// Scenarios lists the scenario names in the order "all" runs them.
var Scenarios = []string{"rolling", "owner", "client", "churn", "crashloop", "partition", "hostile", "overload", "blackout", "checkowner"}

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
	// Intruders runs the intruders (intruders.go) at ShortIntruders'
	// scale; the hostile scenario always runs them, at FullIntruders'.
	// Never in network namespaces (the partition scenario with Netns).
	Intruders bool
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
	Intruders        IntruderCounts
	Mechanism        string
	Skipped          string
	Result           Result
}

type run struct {
	cfg     Config
	name    string
	h       *History
	c       *agentproc.Cluster
	f       faults
	w       *Workload
	rng     *rand.Rand
	svcs    []string
	next    int // next node number, for new names
	mech    string
	hostile int
	intr    IntruderCounts
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
	if name == "crashloop" {
		cfg.Bounds.FromLastBeat = true
	}
	if name == "overload" {
		cfg.Bounds.ShedIsTrying = true
	}
	if cfg.IdleConns <= 0 {
		cfg.IdleConns = 2000
	}
	if own := ownFlows[name]; own != nil { // scenarios with a flow of their own (flows.go)
		return own(ctx, name, cfg)
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
	logDir := ""
	if cfg.LogDir != "" {
		logDir = filepath.Join(cfg.LogDir, name)
		if err := os.MkdirAll(logDir, 0o755); err != nil {
			return r.harnessFail(sum, err)
		}
	}
	r.c = newCluster(cfg.Bin, r.h, debug, net, logDir, cfg.LogLevel)
	r.f = faults{c: r.c, net: net}
	defer r.c.Shutdown(syscall.SIGKILL)
	for i := 1; i <= cfg.Nodes; i++ {
		if _, err := r.c.Start(context.Background(), r.newName(), "", ""); err != nil {
			return r.harnessFail(sum, err)
		}
	}
	if err := r.c.WaitReady(context.Background(), 30*time.Second); err != nil {
		return r.harnessFail(sum, err)
	}
	if name == "partition" && net == nil {
		code, err := r.f.block(r.c.Live()[0].Name, nil)
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
	obsWG.Add(3)
	go func() { defer obsWG.Done(); Observe(obsCtx, r.c, r.h, r.svcs, 100*time.Millisecond, 3) }()
	go func() { defer obsWG.Done(); Pace(obsCtx, r.h) }()
	go func() { defer obsWG.Done(); WatchBrakes(obsCtx, r.c, r.h) }()
	simCtx, stopSims := context.WithCancel(context.Background())
	r.w = NewWorkload(r.c, r.h, cfg.Timings, seed)
	r.spawnInitial(simCtx)
	r.logf("%d nodes ready, %d instances beating in %d services", cfg.Nodes, len(r.w.Sims()), nsvc)

	faultCtx, stopFaults := context.WithTimeout(ctx, cfg.Duration)
	var bg sync.WaitGroup
	bg.Add(1)
	streamSeed := r.rng.Uint64() // r.rng belongs to the fault goroutine from here on
	go func() { defer bg.Done(); r.stream(faultCtx, simCtx, name, streamSeed) }()
	r.startHostile(faultCtx, &bg, seed, net == nil)
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
	case "crashloop":
		err = r.crashloop(faultCtx)
	case "partition":
		err = r.partition(faultCtx)
	case "hostile":
		err = r.rolling(faultCtx)
	case "overload":
		err = r.overload(faultCtx)
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
	r.c.Shutdown(syscall.SIGKILL)

	sum.Acked, sum.Failed, sum.Faults = r.h.Counts()
	sum.Hostile = r.hostile
	sum.Intruders = r.intr
	sum.Mechanism = r.mech
	sum.Result = Check(r.h, b)
	return sum
}

// startHostile starts, in bg until ctx ends, the hostile clients (the
// hostile scenario, or Config.Hostile) and the intruders (the hostile
// scenario at full scale, or Config.Intruders at the short one; on
// loopback only).
func (r *run) startHostile(ctx context.Context, bg *sync.WaitGroup, seed uint64, loopback bool) {
	if r.name == "hostile" || r.cfg.Hostile {
		bg.Go(func() { r.hostile = Hostile(ctx, r.c, r.h, seed, r.cfg.IdleConns) })
	}
	if (r.name == "hostile" || r.cfg.Intruders) && loopback {
		sc := ShortIntruders
		if r.name == "hostile" {
			sc = FullIntruders
		}
		bg.Go(func() { r.intr = r.intruders(ctx, sc, seed) })
	}
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
	case "crashloop":
		silentShare = 90 // about a tenth of the instances fall silent
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

// restore brings the cluster back to its size with every node ready.
func (r *run) restore() error {
	if r.name == "partition" {
		if err := r.f.heal(); err != nil {
			return err
		}
	}
	for i := len(r.c.Live()); i < r.cfg.Nodes; i++ {
		if _, err := r.c.Start(context.Background(), r.newName(), "", ""); err != nil {
			return err
		}
	}
	return r.c.WaitReady(context.Background(), 30*time.Second)
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}
