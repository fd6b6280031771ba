// Command detectbench measures how long a roster gossip cluster takes to
// declare a crashed node dead.
//
// Each run starts -n nodes in this process on loopback with the chosen
// profile, waits until they agree on membership, lets them settle, then
// shuts one down without leaving (to the network this is a SIGKILL: its
// sockets close and it never answers again). It reports when the first and
// the last survivor delivered EventLeave for it. Any EventLeave for a node
// that was not killed is a false positive and is counted.
//
// -load N runs N busy-looping goroutines for the whole measurement (N = -1
// means GOMAXPROCS), so the gossip goroutines compete for the CPU the way
// they would on a saturated host.
//
//	go run ./gossip/internal/detectbench -profile lan -n 5 -runs 10
//	go run ./gossip/internal/detectbench -profile lan -n 5 -runs 10 -load -1
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roster-io/roster/gossip"
	"github.com/roster-io/roster/internal/await"
)

func main() {
	n := flag.Int("n", 5, "nodes per cluster")
	runs := flag.Int("runs", 10, "number of crashes to measure")
	profile := flag.String("profile", "lan", "gossip profile: lan, local or wan")
	load := flag.Int("load", 0, "busy-loop goroutines during each run (-1: GOMAXPROCS)")
	settle := flag.Duration("settle", 2*time.Second, "wait after convergence before the crash")
	timeout := flag.Duration("timeout", 20*time.Second, "give up on a run after this long")
	verbose := flag.Bool("v", false, "log gossip events at info level")
	flag.Parse()

	if *load < 0 {
		*load = runtime.GOMAXPROCS(0)
	}
	level := slog.LevelWarn + 4 // silent
	if *verbose {
		level = slog.LevelInfo
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	fmt.Printf("profile=%s nodes=%d runs=%d load=%d goroutines GOMAXPROCS=%d settle=%v\n",
		*profile, *n, *runs, *load, runtime.GOMAXPROCS(0), *settle)
	var lasts []time.Duration
	falsePositives, maxHealth := 0, 0
	for i := range *runs {
		r, err := runOnce(i, *n, gossip.Profile(*profile), *load, *settle, *timeout, logger)
		if err != nil {
			fmt.Fprintf(os.Stderr, "run %d: %v\n", i, err)
			os.Exit(1)
		}
		fmt.Printf("run %2d: first survivor %6.0fms, all survivors %6.0fms, false positives %d, max health score %d\n",
			i, ms(r.first), ms(r.last), r.falsePositives, r.maxHealth)
		lasts = append(lasts, r.last)
		falsePositives += r.falsePositives
		maxHealth = max(maxHealth, r.maxHealth)
	}
	slices.Sort(lasts)
	fmt.Printf("all survivors: median %.0fms, max %.0fms, min %.0fms; false positives %d; max health score %d\n",
		ms(median(lasts)), ms(lasts[len(lasts)-1]), ms(lasts[0]), falsePositives, maxHealth)
}

type result struct {
	first, last    time.Duration
	falsePositives int
	maxHealth      int
}

type node struct {
	g    *gossip.Gossip
	done chan struct{} // closed when its event reader returns
}

// trial is one crash in a fresh cluster.
type trial struct {
	logger *slog.Logger
	victim atomic.Pointer[string]
	nodes  []*node

	mu     sync.Mutex // guards leaves and res.falsePositives
	leaves map[string]time.Time
	res    result // maxHealth belongs to runOnce's goroutine
}

// runOnce measures one crash in a fresh cluster.
func runOnce(run, n int, profile gossip.Profile, load int, settle, timeout time.Duration, logger *slog.Logger) (result, error) {
	tr := &trial{logger: logger, leaves: map[string]time.Time{}}
	defer tr.shutdown()
	stopLoad := startLoad(load)
	defer stopLoad()
	if err := tr.start(run, n, profile); err != nil {
		return tr.result(), err
	}
	if _, err := await.Until(context.Background(), 5*time.Millisecond, timeout, func() bool {
		for _, nd := range tr.nodes {
			if nd.g.NumMembers() != n {
				return false
			}
		}
		return true
	}); err != nil {
		return tr.result(), fmt.Errorf("cluster did not converge: %w", err)
	}
	for end := time.Now().Add(settle); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		tr.sampleHealth()
	}

	vi := rand.IntN(n)
	name := "n" + strconv.Itoa(vi)
	tr.victim.Store(&name)
	survivors := len(tr.nodes) - 1
	crashed := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	err := tr.nodes[vi].g.Shutdown(ctx) // no Leave: a crash
	cancel()
	if err != nil {
		return tr.result(), err
	}

	if _, err := await.Until(context.Background(), 5*time.Millisecond, timeout, func() bool {
		tr.sampleHealth()
		tr.mu.Lock()
		defer tr.mu.Unlock()
		return len(tr.leaves) == survivors
	}); err != nil {
		return tr.result(), fmt.Errorf("not every survivor saw %s die: %w", name, err)
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.res.first, tr.res.last = timeout, 0
	for _, at := range tr.leaves {
		tr.res.first = min(tr.res.first, at.Sub(crashed))
		tr.res.last = max(tr.res.last, at.Sub(crashed))
	}
	return tr.res, nil
}

// start starts n nodes, each joining the first, each with a reader of its
// events.
func (tr *trial) start(run, n int, profile gossip.Profile) error {
	var seed string
	for i := range n {
		cfg := gossip.DefaultConfig()
		cfg.Name = "n" + strconv.Itoa(i)
		cfg.BindAddr = "127.0.0.1:0"
		cfg.Profile = profile
		cfg.Cluster = fmt.Sprintf("detectbench-%d-%d", os.Getpid(), run)
		cfg.JoinRetryInterval = 20 * time.Millisecond
		cfg.Logger = tr.logger
		if seed != "" {
			cfg.Join = []string{seed}
		}
		g, err := gossip.New(cfg)
		if err != nil {
			return err
		}
		nd := &node{g: g, done: make(chan struct{})}
		go tr.readEvents(nd, cfg.Name)
		tr.nodes = append(tr.nodes, nd)
		if err := g.Start(); err != nil {
			return err
		}
		if seed == "" {
			seed = g.LocalMember().Addr
		}
	}
	return nil
}

// readEvents records when observer saw the victim leave, and counts every
// other leave (but its own) as a false positive, until nd's events close.
func (tr *trial) readEvents(nd *node, observer string) {
	defer close(nd.done)
	for ev := range nd.g.Events() {
		if ev.Type != gossip.EventLeave {
			continue
		}
		tr.mu.Lock()
		if v := tr.victim.Load(); v != nil && *v == ev.Member.Name {
			if _, ok := tr.leaves[observer]; !ok {
				tr.leaves[observer] = time.Now()
			}
		} else if ev.Member.Name != observer {
			tr.res.falsePositives++
			tr.logger.Warn("false positive", "observer", observer, "member", ev.Member.Name)
		}
		tr.mu.Unlock()
	}
}

// sampleHealth records the highest health score of any node.
func (tr *trial) sampleHealth() {
	for _, nd := range tr.nodes {
		tr.res.maxHealth = max(tr.res.maxHealth, nd.g.HealthScore())
	}
}

// result returns the result so far.
func (tr *trial) result() result {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.res
}

// shutdown stops every node and waits for its event reader.
func (tr *trial) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, nd := range tr.nodes {
		_ = nd.g.Shutdown(ctx)
		<-nd.done
	}
}

// startLoad runs k goroutines that spin until the returned func is called,
// and waits for them then.
func startLoad(k int) (stop func()) {
	var quit atomic.Bool
	var wg sync.WaitGroup
	for range k {
		wg.Go(func() {
			x := 0
			for !quit.Load() {
				x++
			}
			_ = x
		})
	}
	return func() {
		quit.Store(true)
		wg.Wait()
	}
}

func median(sorted []time.Duration) time.Duration {
	m := len(sorted) / 2
	if len(sorted)%2 == 1 {
		return sorted[m]
	}
	return (sorted[m-1] + sorted[m]) / 2
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
