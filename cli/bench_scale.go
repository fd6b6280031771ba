package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/roster-io/roster/internal/agentproc"
	"github.com/roster-io/roster/internal/bench"
)

// maxScaleNodes bounds --local of bench scale.
const maxScaleNodes = 300

// Without --write-rate, the load offers scaleWriteBudget/N writes a
// second for the largest size N (at most maxDefaultWriteRate), at every
// size: every node applies every write, so N agents sharing this
// machine's cores do N times the rate's work, and one rate for all sizes
// keeps the per-node figures comparable.
const (
	scaleWriteBudget    = 2000
	maxDefaultWriteRate = 500
)

// defaultWriteRate is the write rate for sizes without --write-rate.
func defaultWriteRate(sizes []int) int {
	return min(maxDefaultWriteRate, scaleWriteBudget/slices.Max(sizes))
}

// benchScaleCommand is `roster bench scale`: its own flags, since it
// always starts its own clusters, one per size.
func benchScaleCommand() *cli.Command {
	return &cli.Command{
		Name:  "scale",
		Usage: "start --local N agents (or several sizes, N1,N2,…) and measure what each node costs",
		Description: "For each size: starts the agents on 127.0.0.1 (each joining the first --seeds), times\n" +
			"until every node lists every member and until all are ready, times --writes writes\n" +
			"until visible on every node, measures bytes sent per node (gossip and peer traffic\n" +
			"apart), CPU and RSS idle and under --instances beating every --interval plus\n" +
			"--write-rate writes/s, the partitions moved by one join and one leave, the time to\n" +
			"drop a SIGKILLed node, and the suspicions raised while all were alive. Stops every\n" +
			"process it started, by PID. --json writes one object per size.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "local", Required: true, Usage: "cluster sizes to run, `N[,N…]` (each 2.." + strconv.Itoa(maxScaleNodes) + ")"},
			&cli.StringFlag{Name: "gossip-profile", Value: "shared", Usage: "--gossip-profile of the agents (shared: N agents share this machine's cores)"},
			&cli.StringFlag{Name: "binary", Usage: "roster binary for the agents (default: this one)"},
			&cli.DurationFlag{Name: "idle", Value: 20 * time.Second, Usage: "idle window measured"},
			&cli.DurationFlag{Name: "load", Value: 20 * time.Second, Usage: "load window measured"},
			&cli.IntFlag{Name: "instances", Value: 10000, Usage: "instances beating during the load"},
			&cli.DurationFlag{Name: "interval", Value: 5 * time.Second, Usage: "their beat interval"},
			&cli.StringFlag{Name: "beat-client", Value: "go", Usage: "who beats the instances: go (Go clients, beats batched per owner) or nacos (one Nacos beat per instance, handed to the owner)"},
			&cli.IntFlag{Name: "beat-clients", Value: 1, Usage: "how many Go clients hold the instances (--beat-client go)"},
			&cli.IntFlag{Name: "write-rate", DefaultText: strconv.Itoa(scaleWriteBudget) + "/N of the largest size, at most " + strconv.Itoa(maxDefaultWriteRate),
				Usage: "writes per second during the load, spread over the nodes (every node applies every write)"},
			&cli.IntFlag{Name: "writes", Value: 200, Usage: "writes timed until visible on every node"},
			&cli.IntFlag{Name: "seeds", Value: 3, Usage: "how many of the first nodes each new node joins"},
			&cli.StringFlag{Name: "heap-profile", Usage: "save the first agent's heap profile, once the cluster is up, in `DIR`/heap-N.pb.gz (runs the agents with --pprof)"},
			&cli.StringFlag{Name: "cpu-profile", Usage: "save the first agent's CPU profiles during the start, the registrations and the load in `DIR`/cpu-N-PHASE-K.pb.gz (runs the agents with --pprof)"},
			&cli.StringFlag{Name: "json", Usage: "also write the results as a JSON array to `FILE`"},
		},
		OnUsageError: onUsageError,
		Action:       runBenchScale,
	}
}

// scaleSizes parses --local.
func scaleSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 2 || n > maxScaleNodes {
			return nil, fmt.Errorf("--local %q: each size must be a number in 2..%d", s, maxScaleNodes)
		}
		out = append(out, n)
	}
	return out, nil
}

func scaleConfig(c *cli.Context, sizes []int) (bench.ScaleConfig, error) {
	cfg := bench.ScaleConfig{GossipProfile: c.String("gossip-profile"), Idle: c.Duration("idle"), Load: c.Duration("load"),
		Instances: c.Int("instances"), Interval: c.Duration("interval"), WriteRate: c.Int("write-rate"),
		Writes: c.Int("writes"), Seeds: c.Int("seeds"), Binary: c.String("binary"),
		BeatClient: c.String("beat-client"), BeatClients: c.Int("beat-clients")}
	if !c.IsSet("write-rate") {
		cfg.WriteRate = defaultWriteRate(sizes)
	}
	switch {
	case cfg.Idle <= 0 || cfg.Idle > 10*time.Minute || cfg.Load <= 0 || cfg.Load > 10*time.Minute:
		return cfg, fmt.Errorf("--idle %v and --load %v must be in (0, 10m]", cfg.Idle, cfg.Load)
	case cfg.Instances < 0 || cfg.Instances > 1_000_000:
		return cfg, fmt.Errorf("--instances %d is not in 0..1000000", cfg.Instances)
	case cfg.Interval < 100*time.Millisecond || cfg.Interval > time.Minute:
		return cfg, fmt.Errorf("--interval %v is not in [100ms, 1m]", cfg.Interval)
	case cfg.WriteRate < 0 || cfg.WriteRate > 100000:
		return cfg, fmt.Errorf("--write-rate %d is not in 0..100000", cfg.WriteRate)
	case cfg.Writes < 1 || cfg.Writes > 100000:
		return cfg, fmt.Errorf("--writes %d is not in 1..100000", cfg.Writes)
	case cfg.BeatClient != "go" && cfg.BeatClient != "nacos":
		return cfg, fmt.Errorf("--beat-client %q must be go or nacos", cfg.BeatClient)
	case cfg.BeatClients < 1 || cfg.BeatClients > 64:
		return cfg, fmt.Errorf("--beat-clients %d is not in 1..64", cfg.BeatClients)
	case cfg.Seeds < 1 || cfg.Seeds > maxScaleNodes:
		return cfg, fmt.Errorf("--seeds %d is not in 1..%d", cfg.Seeds, maxScaleNodes)
	}
	if cfg.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return cfg, fmt.Errorf("bench: find the roster binary: %w", err)
		}
		cfg.Binary = exe
	}
	return cfg, nil
}

func runBenchScale(c *cli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	sizes, err := scaleSizes(c.String("local"))
	if err != nil {
		return badUsage(c, err)
	}
	cfg, err := scaleConfig(c, sizes)
	if err != nil {
		return badUsage(c, err)
	}
	cfg.Progress = func(format string, args ...any) {
		fmt.Fprintf(c.App.ErrWriter, "bench: "+format+"\n", args...)
	}
	if dir := c.String("heap-profile"); dir != "" {
		cfg.AgentArgs = append(cfg.AgentArgs, "--pprof")
		cfg.Hold = func(ctx context.Context, procs []*agentproc.Proc) {
			if err := saveHeap(ctx, procs[0], filepath.Join(dir, fmt.Sprintf("heap-%d.pb.gz", len(procs)))); err != nil {
				fmt.Fprintf(c.App.ErrWriter, "bench: heap profile: %v\n", err)
			}
		}
	}
	if dir := c.String("cpu-profile"); dir != "" {
		cfg.AgentArgs = append(cfg.AgentArgs, "--pprof")
		cfg.CPUProfileDir = dir
	}
	// A hard cap on the whole run; SIGINT and SIGTERM end it early, and
	// Scale stops its agents either way.
	hard := time.Duration(len(sizes)) * (15*time.Minute + 2*(cfg.Idle+cfg.Load))
	ctx, cancel := context.WithTimeout(c.Context, hard)
	defer cancel()
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	var results []*bench.ScaleResult
	var runErr error
	for _, n := range sizes {
		cfg.Nodes = n
		dir, err := os.MkdirTemp("", "roster-scale-")
		if err != nil {
			return fmt.Errorf("bench: scale: %w", err)
		}
		cfg.LogDir = dir
		r, err := bench.Scale(ctx, cfg) // every agent stopped when it returns
		tidyLogs(c.App.ErrWriter, dir, err, false)
		if r != nil {
			results = append(results, r) // with its error, what it measured
		}
		if err != nil {
			runErr = err
			break
		}
	}
	writeScaleTable(c.App.Writer, results)
	if path := c.String("json"); path != "" && len(results) > 0 {
		b, err := json.MarshalIndent(results, "", "  ")
		if err == nil {
			err = os.WriteFile(path, append(b, '\n'), 0o644)
		}
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
	}
	return runErr
}

// writeScaleTable prints one row per figure (its JSON key) and one
// column per size.
func writeScaleTable(w io.Writer, results []*bench.ScaleResult) {
	if len(results) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	t := reflect.TypeFor[bench.ScaleResult]()
	for i := range t.NumField() {
		key, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		fmt.Fprint(tw, key)
		for _, r := range results {
			switch v := reflect.ValueOf(r).Elem().Field(i).Interface().(type) {
			case float64:
				fmt.Fprint(tw, "\t"+strconv.FormatFloat(v, 'f', 3, 64))
			default:
				fmt.Fprintf(tw, "\t%v", v)
			}
		}
		fmt.Fprintln(tw)
	}
	_ = tw.Flush()
}

// saveHeap fetches p's heap profile (the agent runs with --pprof).
func saveHeap(ctx context.Context, p *agentproc.Proc, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL()+"/debug/pprof/heap", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /debug/pprof/heap: %s", resp.Status)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
