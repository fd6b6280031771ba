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
	"errors"
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

// runOnce measures one crash in a fresh cluster.
func runOnce(run, n int, profile gossip.Profile, load int, settle, timeout time.Duration, logger *slog.Logger) (result, error) {
	var res result
	var mu sync.Mutex // guards leaves and res.falsePositives
	leaves := map[string]time.Time{}
	var victim atomic.Pointer[string]

	var nodes []*node
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, nd := range nodes {
			_ = nd.g.Shutdown(ctx)
			<-nd.done
		}
	}()

	stopLoad := startLoad(load)
	defer stopLoad()

	var seed string
	for i := range n {
		cfg := gossip.DefaultConfig()
		cfg.Name = "n" + strconv.Itoa(i)
		cfg.BindAddr = "127.0.0.1:0"
		cfg.Profile = profile
		cfg.Cluster = fmt.Sprintf("detectbench-%d-%d", os.Getpid(), run)
		cfg.JoinRetryInterval = 20 * time.Millisecond
		cfg.Logger = logger
		if seed != "" {
			cfg.Join = []string{seed}
		}
		g, err := gossip.New(cfg)
		if err != nil {
			return res, err
		}
		nd := &node{g: g, done: make(chan struct{})}
		observer := cfg.Name
		go func() {
			defer close(nd.done)
			for ev := range g.Events() {
				if ev.Type != gossip.EventLeave {
					continue
				}
				mu.Lock()
				if v := victim.Load(); v != nil && *v == ev.Member.Name {
					if _, ok := leaves[observer]; !ok {
						leaves[observer] = time.Now()
					}
				} else if ev.Member.Name != observer {
					res.falsePositives++
					logger.Warn("false positive", "observer", observer, "member", ev.Member.Name)
				}
				mu.Unlock()
			}
		}()
		nodes = append(nodes, nd)
		if err := g.Start(); err != nil {
			return res, err
		}
		if seed == "" {
			seed = g.LocalMember().Addr
		}
	}

	if err := waitUntil(timeout, func() bool {
		for _, nd := range nodes {
			if nd.g.NumMembers() != n {
				return false
			}
		}
		return true
	}); err != nil {
		return res, fmt.Errorf("cluster did not converge: %w", err)
	}
	sampleHealth := func() {
		for _, nd := range nodes {
			res.maxHealth = max(res.maxHealth, nd.g.HealthScore())
		}
	}
	for end := time.Now().Add(settle); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		sampleHealth()
	}

	vi := rand.IntN(n)
	name := "n" + strconv.Itoa(vi)
	victim.Store(&name)
	survivors := slices.Delete(slices.Clone(nodes), vi, vi+1)
	crashed := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	err := nodes[vi].g.Shutdown(ctx) // no Leave: a crash
	cancel()
	if err != nil {
		return res, err
	}

	if err := waitUntil(timeout, func() bool {
		sampleHealth()
		mu.Lock()
		defer mu.Unlock()
		return len(leaves) == len(survivors)
	}); err != nil {
		return res, fmt.Errorf("not every survivor saw %s die: %w", name, err)
	}
	mu.Lock()
	defer mu.Unlock()
	res.first, res.last = timeout, 0
	for _, at := range leaves {
		res.first = min(res.first, at.Sub(crashed))
		res.last = max(res.last, at.Sub(crashed))
	}
	return res, nil
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

func waitUntil(timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return errors.New("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

func median(sorted []time.Duration) time.Duration {
	m := len(sorted) / 2
	if len(sorted)%2 == 1 {
		return sorted[m]
	}
	return (sorted[m-1] + sorted[m]) / 2
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
