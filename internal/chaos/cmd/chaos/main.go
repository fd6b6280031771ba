// Command chaos runs roster's chaos scenarios against a real cluster of
// `roster agent` processes on loopback, prints a summary table, and exits
// non-zero on any violation, printing the part of the history that shows
// it.
//
//	go run ./internal/chaos/cmd/chaos --seed 42 --scenario rolling --nodes 3 --instances 50 --duration 30s
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/roster-io/roster/internal/agentproc"
	"github.com/roster-io/roster/internal/chaos"
)

func main() {
	seed := flag.Uint64("seed", uint64(time.Now().UnixNano()%1_000_000), "random seed (printed; pass it again to replay a run)")
	scenario := flag.String("scenario", "all", "all or one of "+strings.Join(chaos.Scenarios, ", "))
	nodes := flag.Int("nodes", 3, "cluster size")
	instances := flag.Int("instances", 50, "simulated instances")
	rollingInstances := flag.Int("rolling-instances", 0, "simulated instances in the rolling and crashloop scenarios (default: --instances)")
	beat := flag.Duration("beat", 500*time.Millisecond, "instances' beat interval (unhealthy after 3x, removed after 6x)")
	hostile := flag.Bool("hostile", true, "run the hostile clients during every scenario")
	idle := flag.Int("idle", 2000, "idle connections the hostile clients hold")
	intruders := flag.Bool("intruders", false, "run the intruders (short scale) in every scenario on loopback; the hostile scenario always runs them")
	netns := flag.Bool("netns", true, "partition through network namespaces when the machine allows it")
	tags := flag.String("tags", "", "build roster with these tags (chaosbroken: the deliberately broken build)")
	logDir := flag.String("logdir", "", "keep every agent's output in this directory (one subdirectory per scenario)")
	logLevel := flag.String("log-level", "warn", "the agents' --log-level when --logdir is set")
	prunePassing := flag.Bool("prune-passing", false, "with --logdir, remove the output of each scenario that passes (keep only what a violation needs)")
	expectViolations := flag.Bool("expect-violations", false, "succeed only if violations are found (for the broken build)")
	duration := flag.Duration("duration", 30*time.Second, "how long each scenario injects faults")
	repo := flag.String("repo", ".", "roster module root to build")
	bin := flag.String("bin", "", "use this roster binary instead of building one")
	flag.Parse()

	names := chaos.Scenarios
	if *scenario != "all" {
		if !slices.Contains(chaos.Scenarios, *scenario) {
			fmt.Fprintf(os.Stderr, "chaos: unknown scenario %q (want all or one of %s)\n", *scenario, strings.Join(chaos.Scenarios, ", "))
			os.Exit(2)
		}
		names = []string{*scenario}
	}
	replay := fmt.Sprintf("--seed %d --scenario %s --nodes %d --instances %d --rolling-instances %d --beat %v --duration %v --hostile=%v --idle %d --intruders=%v --netns=%v",
		*seed, *scenario, *nodes, *instances, *rollingInstances, *beat, *duration, *hostile, *idle, *intruders, *netns)
	if *tags != "" {
		replay += " --tags " + *tags
	}
	fmt.Printf("chaos: seed %d (replay: go run ./internal/chaos/cmd/chaos %s)\n", *seed, replay)

	begin := time.Now()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	path := *bin
	if path == "" {
		dir, err := chaos.TempDir()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer os.RemoveAll(dir)
		root, _ := filepath.Abs(*repo)
		var tagList []string
		if *tags != "" {
			tagList = strings.Split(*tags, ",")
		}
		if path, err = agentproc.Build(ctx, root, dir, tagList...); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	var sums []chaos.Summary
	bad := 0
	for _, name := range names {
		if ctx.Err() != nil {
			break
		}
		n := *instances
		if (name == "rolling" || name == "crashloop") && *rollingInstances > 0 {
			n = *rollingInstances
		}
		start := time.Now()
		s := chaos.Run(ctx, name, chaos.Config{Bin: path, Seed: *seed, Nodes: *nodes, Instances: n,
			Duration: *duration, Timings: chaos.Timings{Interval: *beat}, Hostile: *hostile, IdleConns: *idle, Intruders: *intruders,
			Netns: *netns, LogDir: *logDir, LogLevel: *logLevel, Log: os.Stdout})
		fmt.Printf("[%s] done in %v: %d violations\n", name, time.Since(start).Round(time.Second), len(s.Result.Violations))
		sums = append(sums, s)
		for i, v := range s.Result.Violations {
			if i == 10 {
				fmt.Printf("... and %d more violations in %s\n", len(s.Result.Violations)-10, name)
				break
			}
			fmt.Printf("[%s] %s", name, v)
		}
		bad += len(s.Result.Violations)
		switch {
		case *logDir == "":
		case *prunePassing && len(s.Result.Violations) == 0:
			_ = os.RemoveAll(filepath.Join(*logDir, name))
		default:
			fmt.Printf("[%s] agents' output kept in %s\n", name, filepath.Join(*logDir, name))
		}
	}
	if *prunePassing && *logDir != "" {
		_ = os.Remove(*logDir) // only if every scenario passed, leaving it empty
	}
	fmt.Printf("\nchaos summary (seed %d, %s)\n", *seed, time.Since(begin).Round(time.Second))
	chaos.WriteTable(os.Stdout, sums)
	for _, s := range sums {
		if s.Result.HarnessStalls > 0 {
			fmt.Printf("chaos: note: in %s the harness itself stalled %d times (worst %v); nothing was checked during a stall or for as long again after it\n",
				s.Scenario, s.Result.HarnessStalls, s.Result.WorstStall.Round(time.Millisecond))
		}
		if s.Result.HarnessGaps > 0 {
			fmt.Printf("chaos: note: in %s the harness itself sent beats up to %v late, %d times too late to hold roster to liveness across the gap (those stretches were not checked; the machine was overloaded, not roster at fault)\n",
				s.Scenario, s.Result.WorstBeatLateness.Round(time.Millisecond), s.Result.HarnessGaps)
		}
	}
	if *expectViolations {
		if bad > 0 && ctx.Err() == nil {
			fmt.Printf("chaos: broken build caught: %d violations, as expected (seed %d)\n", bad, *seed)
			return
		}
		fmt.Printf("chaos: FAIL: the broken build passed: the suite did not notice the fault (seed %d)\n", *seed)
		os.Exit(1)
	}
	if bad > 0 || ctx.Err() != nil {
		fmt.Printf("chaos: FAIL: %d violations (seed %d)\n", bad, *seed)
		os.Exit(1)
	}
	fmt.Printf("chaos: PASS (seed %d)\n", *seed)
}
