// Command chaos runs roster's chaos scenarios against a real cluster of
// `roster agent` processes on loopback, prints a summary table, and exits
// non-zero on any violation, printing the part of the history that shows
// it.
//
//	go run ./chaos/cmd/chaos --seed 42 --scenario rolling --nodes 3 --instances 50 --duration 30s
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

	"github.com/roster-io/roster/chaos"
)

func main() {
	seed := flag.Uint64("seed", uint64(time.Now().UnixNano()%1_000_000), "random seed (printed; pass it again to replay a run)")
	scenario := flag.String("scenario", "all", "all or one of "+strings.Join(chaos.Scenarios, ", "))
	nodes := flag.Int("nodes", 3, "cluster size")
	instances := flag.Int("instances", 50, "simulated instances")
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
	fmt.Printf("chaos: seed %d (replay: --seed %d --scenario %s --nodes %d --instances %d --duration %v)\n",
		*seed, *seed, *scenario, *nodes, *instances, *duration)

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
		if path, err = chaos.Build(ctx, root, dir); err != nil {
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
		s := chaos.Run(ctx, name, chaos.Config{Bin: path, Seed: *seed, Nodes: *nodes, Instances: *instances,
			Duration: *duration, Log: os.Stdout})
		sums = append(sums, s)
		for i, v := range s.Result.Violations {
			if i == 10 {
				fmt.Printf("... and %d more violations in %s\n", len(s.Result.Violations)-10, name)
				break
			}
			fmt.Printf("[%s] %s", name, v)
		}
		bad += len(s.Result.Violations)
	}
	fmt.Printf("\nchaos summary (seed %d)\n", *seed)
	chaos.WriteTable(os.Stdout, sums)
	if bad > 0 || ctx.Err() != nil {
		fmt.Printf("chaos: FAIL: %d violations (seed %d)\n", bad, *seed)
		os.Exit(1)
	}
	fmt.Printf("chaos: PASS (seed %d)\n", *seed)
}
