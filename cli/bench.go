package cli

// roster bench drives a cluster and reports throughput and latency: one
// subcommand per mode, all sharing the target flags (--addrs, or --local N
// to start a cluster of real agent processes), the load shape and the
// output flags. Unlike the other client commands it handles SIGINT and
// SIGTERM itself: a Ctrl-C must still stop the processes of --local.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/roster-io/roster/internal/agentproc"
	"github.com/roster-io/roster/internal/bench"
)

// maxBenchDuration caps --duration, so that every run ends.
const maxBenchDuration = 10 * time.Minute

func benchCommand() *cli.Command {
	mode := func(name, usage, desc string, extra []cli.Flag, run benchRun) *cli.Command {
		return &cli.Command{
			Name: name, Usage: usage, Description: desc,
			Flags:        flags(benchFlags(), extra),
			Action:       func(c *cli.Context) error { return runBench(c, run) },
			OnUsageError: onUsageError,
		}
	}
	return &cli.Command{
		Name:  "bench",
		Usage: "measure a cluster: floor, register, read, beat, lag, detect, grpc, checks, all, scale",
		Description: "Drives a running cluster (--addrs) or one it starts itself (--local N) and prints\n" +
			"a table; --json FILE writes the same figures as JSON. Throughputs are also given\n" +
			"as a ratio to a bare net/http server (the floor) driven by the same generator in\n" +
			"the same run. Everything is registered in namespace " + bench.Namespace + ".",
		Subcommands: []*cli.Command{
			mode("floor", "measure the floor: a bare net/http server on 127.0.0.1",
				"Serves a fixed ~5 KB JSON body (GET) and parses a form into a map (POST) with\nno registry behind, driven by the same generator: the most this machine can measure.",
				nil, benchFloor),
			mode("register", "register --instances over --services with --concurrency workers",
				"POST /nacos/v1/ns/instance, spread over every node: ops/s, latency, and the time\nfrom the last acknowledgement until every node lists them all.",
				[]cli.Flag{
					&cli.IntFlag{Name: "instances", Value: 10000, Usage: "instances to register"},
					&cli.IntFlag{Name: "services", Value: 100, Usage: "services to spread them over"},
					&cli.BoolFlag{Name: "persistent", Usage: "register persistent instances (ephemeral=false), each fsynced before its answer; they stay until deleted (use --local)"},
					&cli.StringFlag{Name: "client", Value: "nacos", Usage: "who registers: nacos (one HTTP request per registration, as Nacos v1 clients) or go (the Go client library: --clients client objects, registrations made while one is in flight batched in POST /v1/instances/batch)"},
					&cli.IntFlag{Name: "clients", Value: 10, Usage: "with --client go: how many client objects register the instances"},
				}, benchRegister),
			mode("read", "list a service of --instances instances for --duration",
				"GET /nacos/v1/ns/instance/list?healthyOnly=true from the first node (or every\nnode with --all-nodes): req/s and latency.",
				[]cli.Flag{
					&cli.IntFlag{Name: "instances", Value: 20, Usage: "instances in the listed service"},
					&cli.BoolFlag{Name: "all-nodes", Usage: "spread the reads over every node"},
				}, benchRead),
			mode("beat", "hold --instances beating every --interval for --duration",
				"Registers the instances over --ramp, then beats each every --interval after its\nregistration (PUT /nacos/v1/ns/instance/beat) on an open-loop schedule over all\nnodes, measuring the beats after the ramp, while polling every node for unhealthy\ninstances (there must be none).",
				[]cli.Flag{
					&cli.IntFlag{Name: "instances", Value: 10000, Usage: "instances to hold"},
					&cli.IntFlag{Name: "services", Usage: "services to spread them over (default: one per 1000 instances)"},
					&cli.DurationFlag{Name: "interval", Value: 5 * time.Second, Usage: "beat interval (timeout 3×, delete 6×)"},
					&cli.DurationFlag{Name: "ramp", Usage: "spread the registrations over this long before beats are measured (default: the interval, or 250µs per instance if longer)"},
					&cli.IntFlag{Name: "depth", Value: 2, Usage: "with --overload: requests pipelined on one connection at most"},
					&cli.StringFlag{Name: "client", Value: "nacos", Usage: "who beats: nacos (one HTTP request per beat, as Nacos v1 clients) or go (the Go client library: a few client objects holding --clients shares of the instances, beats batched per owner)"},
					&cli.IntFlag{Name: "clients", Value: 10, Usage: "with --client go: how many client objects hold the instances"},
					&cli.BoolFlag{Name: "overload", Usage: "send with the lean generator (HTTP/1.1 pipelined over --concurrency connections), so it can offer more than the cluster takes; 429 answers count as shed and are retried on the next node like a Nacos client; reports goodput"},
					&cli.DurationFlag{Name: "settle", Usage: "with --overload: how long after the ramp the measured window starts, so a backlog the registrations left can clear (default: the interval; cap 10m)"},
					&cli.BoolFlag{Name: "open-loop", Usage: "with --overload: send every instance's beat every --interval whatever became of the last (default: as Nacos clients, the next beat an interval after the last one was answered, or given up after --timeout, default 10s there)"},
				}, benchBeat),
			mode("lag", "write on one node, watch the others with blocking queries",
				"Registers --writes instances one at a time on the first node and times until\nevery other node's blocking query (GET /v1/instances?index=N) returns each.",
				[]cli.Flag{
					&cli.IntFlag{Name: "writes", Value: 200, Usage: "writes to time"},
				}, benchLag),
			mode("all", "every mode in turn: the README's Performance table",
				"Runs register, read (at --concurrency and at 8), lag, detect (with --local, under\nload) and beat against one cluster, each throughput after a floor of the same\nshape. --full uses the targets' scale (100,000 instances; beats for 60 s).",
				[]cli.Flag{
					&cli.BoolFlag{Name: "full", Usage: "100,000 instances registered and beating for 60 s (default: a tenth, 30 s)"},
				}, benchAll),
			mode("detect", "SIGKILL a node of --local N and time its removal",
				"Only with --local N (N ≥ 2): kills one agent by PID and times until every\nsurvivor drops it from /v1/cluster/members and re-owns its services; restarts it\nand repeats --runs times.",
				[]cli.Flag{
					&cli.IntFlag{Name: "runs", Value: 5, Usage: "kills to time"},
					&cli.IntFlag{Name: "services", Value: 30, Usage: "services registered so the victim owns some"},
					&cli.IntFlag{Name: "load", Usage: "clients registering, beating and listing on every node throughout (0: none)"},
				}, benchDetect),
			mode("grpc", "hold instances bound to Nacos 2.x gRPC connections; compare with HTTP beats",
				"Opens --connections gRPC connections (each node's HTTP port + 1000) round-robin\nover the nodes and registers --instances over them, holds them for --duration\nwhile measuring the agents' CPU (--local), times pushes to a subscriber on every\nnode, closes the connections and times until no node lists them; then holds as\nmany instances beating over HTTP every --interval for --duration, measuring CPU.",
				[]cli.Flag{
					&cli.IntFlag{Name: "instances", Value: 10000, Usage: "instances to hold"},
					&cli.IntFlag{Name: "connections", Value: 100, Usage: "gRPC connections to hold them over"},
					&cli.DurationFlag{Name: "interval", Value: 5 * time.Second, Usage: "beat interval of the HTTP instances compared"},
					&cli.IntFlag{Name: "pushes", Value: 50, Usage: "probe changes whose pushes are timed"},
				}, benchGRPC),
			benchChecksMode(mode),
			benchScaleCommand(),
		},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return badUsage(c, fmt.Errorf("unknown bench mode %q", c.Args().First()))
			}
			return cli.ShowSubcommandHelp(c)
		},
	}
}

// benchFlags are the flags every mode takes.
func benchFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "addrs", Value: cli.NewStringSlice(defaultAddr), EnvVars: []string{"ROSTER_ADDRS"},
			Usage: "nodes to drive (http://host:port), repeatable or comma-separated"},
		&cli.IntFlag{Name: "local", Usage: "start a cluster of `N` roster agent processes on 127.0.0.1 instead of --addrs, and stop it after"},
		&cli.StringFlag{Name: "gossip-profile", Value: "lan", Usage: "--gossip-profile of the --local agents"},
		&cli.StringFlag{Name: "binary", Usage: "roster binary for --local (default: this one)"},
		&cli.StringFlag{Name: "agent-log-level", Value: "warn", Usage: "--log-level of the --local agents (debug, info, warn, error)"},
		&cli.BoolFlag{Name: "keep-logs", Usage: "keep the --local agents' logs and data after a run that succeeded too (a failed run always keeps them)"},
		&cli.Float64Flag{Name: "agent-cpu-limit", Usage: "hold the --local agents together to `CORES` of CPU time (a cgroup quota; Linux, needs write access to /sys/fs/cgroup), so the generator can offer more than they take", Value: 0},
		&cli.IntFlag{Name: "concurrency", Value: 64, Usage: "concurrent workers"},
		&cli.DurationFlag{Name: "duration", Value: 10 * time.Second, Usage: "how long the load runs (cap " + maxBenchDuration.String() + ")"},
		&cli.BoolFlag{Name: "floor", Value: true, Usage: "measure the floor first and report throughputs as ratios to it"},
		&cli.DurationFlag{Name: "floor-duration", Value: 3 * time.Second, Usage: "how long each floor measurement runs"},
		&cli.DurationFlag{Name: "timeout", Value: defaultTimeout, Usage: "give up on one request after this long"},
		&cli.StringFlag{Name: "json", Usage: "also write the figures as JSON to `FILE`"},
	}
}

// benchSetup is what a mode runs with.
type benchSetup struct {
	env   *bench.Env
	local *agentproc.Cluster // nil without --local
	limit *bench.CPULimit    // nil without --agent-cpu-limit
	floor bench.FloorConfig  // the floor to measure first, if --floor
}

// benchRun runs one mode; it may set s.floor (and call measureFloor).
type benchRun func(ctx context.Context, c *cli.Context, s *benchSetup) ([]*bench.Report, error)

func runBench(c *cli.Context, run benchRun) (err error) {
	if err := checkBenchFlags(c); err != nil {
		return err
	}
	conc, dur := c.Int("concurrency"), c.Duration("duration")
	// A hard cap on the whole run, whatever the mode does.
	hard := 5*time.Minute + 3*dur + 2*c.Duration("floor-duration") + time.Duration(c.Int("runs"))*time.Minute
	if c.Command.Name == "all" {
		hard += 15 * time.Minute // every mode in turn
	}
	ctx, cancel := context.WithTimeout(c.Context, hard)
	defer cancel()
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	s := &benchSetup{
		env:   &bench.Env{Client: &bench.Client{HTTP: bench.NewHTTPClient(conc, c.Duration("timeout"))}, Concurrency: conc, Duration: dur},
		floor: bench.FloorConfig{Concurrency: conc, Duration: c.Duration("floor-duration")},
	}
	if err := s.target(ctx, c); err != nil {
		return err
	}
	if s.local != nil {
		defer func() {
			s.local.Shutdown(syscall.SIGTERM)
			s.closeLimit(c.App.ErrWriter)
			tidyLogs(c.App.ErrWriter, s.local.LogDir(), err, c.Bool("keep-logs"))
		}()
	}

	reports, runErr := run(ctx, c, s)
	if len(reports) > 0 {
		if err := bench.WriteTable(c.App.Writer, reports...); err != nil {
			return err
		}
		if path := c.String("json"); path != "" {
			if err := bench.WriteJSONFile(path, reports...); err != nil {
				return err
			}
		}
	}
	if runErr == nil && ctx.Err() != nil {
		runErr = fmt.Errorf("bench: stopped: %w", context.Cause(ctx))
	}
	return runErr
}

// tidyLogs removes the temporary directory of a --local run (the agents'
// logs and data) once its agents are stopped, unless the run failed or
// keep is set: then it keeps it and says where.
func tidyLogs(w io.Writer, dir string, runErr error, keep bool) {
	if runErr != nil || keep {
		fmt.Fprintf(w, "bench: the agents' logs are kept in %s\n", dir)
		return
	}
	if err := os.RemoveAll(dir); err != nil {
		fmt.Fprintf(w, "bench: %v\n", err)
	}
}

// checkBenchFlags checks the flags every mode shares.
func checkBenchFlags(c *cli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	conc, dur, timeout := c.Int("concurrency"), c.Duration("duration"), c.Duration("timeout")
	switch {
	case conc < 1 || conc > 4096:
		return badUsage(c, fmt.Errorf("--concurrency %d is not in 1..4096", conc))
	case dur <= 0 || dur > maxBenchDuration:
		return badUsage(c, fmt.Errorf("--duration %v is not in (0, %v]", dur, maxBenchDuration))
	case timeout <= 0:
		return badUsage(c, fmt.Errorf("--timeout %v must be positive", timeout))
	case c.Duration("floor-duration") <= 0 || c.Duration("floor-duration") > time.Minute:
		return badUsage(c, fmt.Errorf("--floor-duration %v is not in (0, 1m]", c.Duration("floor-duration")))
	case c.Int("local") < 0 || c.Int("local") > 16:
		return badUsage(c, fmt.Errorf("--local %d is not in 0..16", c.Int("local")))
	case c.IsSet("agent-cpu-limit") && (c.Int("local") == 0 || c.Float64("agent-cpu-limit") < 0.01):
		return badUsage(c, fmt.Errorf("--agent-cpu-limit %v: needs --local and at least 0.01 cores", c.Float64("agent-cpu-limit")))
	}
	if _, ok := logLevels[c.String("agent-log-level")]; !ok {
		return badUsage(c, fmt.Errorf("--agent-log-level %q is not debug, info, warn or error", c.String("agent-log-level")))
	}
	return nil
}

// target points the bench at its nodes: a --local cluster it starts (and
// the caller stops), or --addrs.
func (s *benchSetup) target(ctx context.Context, c *cli.Context) error {
	client := s.env.Client
	if n := c.Int("local"); n > 0 {
		bin := c.String("binary")
		if bin == "" {
			exe, err := os.Executable()
			if err != nil {
				return fmt.Errorf("bench: find the roster binary: %w", err)
			}
			bin = exe
		}
		fmt.Fprintf(c.App.ErrWriter, "bench: starting %d roster agents from %s\n", n, bin)
		lc, err := bench.StartLocal(ctx, bench.LocalConfig{Binary: bin, Nodes: n, GossipProfile: c.String("gossip-profile"),
			LogLevel: c.String("agent-log-level")})
		if err != nil {
			return err
		}
		s.local = lc
		s.env.PIDs = lc.PIDs
		client.Addrs = lc.URLs()
		fmt.Fprintf(c.App.ErrWriter, "bench: cluster up: %v (logs in %s)\n", client.Addrs, lc.LogDir())
		return s.limitAgents(c)
	}
	for _, a := range splitList(c.StringSlice("addrs")) {
		u, err := parseAddr(a)
		if err != nil {
			return badUsage(c, err)
		}
		client.Addrs = append(client.Addrs, u.String())
	}
	if len(client.Addrs) == 0 {
		return badUsage(c, errors.New("--addrs is empty"))
	}
	return nil
}

// measureFloor measures the floor if --floor is set, records it in the env
// and returns its report (nil without --floor).
func (s *benchSetup) measureFloor(ctx context.Context, c *cli.Context) (*bench.Report, error) {
	if !c.Bool("floor") {
		return nil, nil
	}
	fr, err := bench.MeasureFloor(ctx, s.env.Client, s.floor)
	if err != nil {
		return nil, err
	}
	s.env.Floor = &fr
	r := bench.FloorReport(fr)
	r.Params = map[string]string{"concurrency": fmt.Sprint(s.floor.Concurrency), "duration": s.floor.Duration.String()}
	return r, nil
}

// withFloor runs the floor (if asked) and then the mode.
func withFloor(ctx context.Context, c *cli.Context, s *benchSetup, mode func() (*bench.Report, error)) ([]*bench.Report, error) {
	var out []*bench.Report
	fr, err := s.measureFloor(ctx, c)
	if err != nil {
		return nil, err
	}
	if fr != nil {
		out = append(out, fr)
	}
	r, err := mode()
	if r != nil {
		out = append(out, r)
	}
	return out, err
}

func benchFloor(ctx context.Context, c *cli.Context, s *benchSetup) ([]*bench.Report, error) {
	s.floor.Duration = c.Duration("duration")
	fr, err := bench.MeasureFloor(ctx, s.env.Client, s.floor)
	if err != nil {
		return nil, err
	}
	r := bench.FloorReport(fr)
	r.Params = map[string]string{"concurrency": fmt.Sprint(s.floor.Concurrency), "duration": s.floor.Duration.String()}
	return []*bench.Report{r}, nil
}

func benchRegister(ctx context.Context, c *cli.Context, s *benchSetup) ([]*bench.Report, error) {
	n, svcs := c.Int("instances"), c.Int("services")
	if n < 1 || svcs < 1 || svcs > n {
		return nil, badUsage(c, fmt.Errorf("need 1 ≤ --services (%d) ≤ --instances (%d)", svcs, n))
	}
	cfg := bench.RegisterConfig{Instances: n, Services: svcs, Persistent: c.Bool("persistent"), Clients: c.Int("clients")}
	switch c.String("client") {
	case "nacos":
	case "go":
		if cfg.Clients < 1 || cfg.Clients > 1000 {
			return nil, badUsage(c, fmt.Errorf("--clients %d is not in 1..1000", cfg.Clients))
		}
		if cfg.Persistent {
			return nil, badUsage(c, errors.New("--persistent: the Go client registers ephemeral instances only"))
		}
		return withFloor(ctx, c, s, func() (*bench.Report, error) { return bench.RegisterGo(ctx, s.env, cfg) })
	default:
		return nil, badUsage(c, fmt.Errorf("--client %q: want nacos or go", c.String("client")))
	}
	return withFloor(ctx, c, s, func() (*bench.Report, error) { return bench.Register(ctx, s.env, cfg) })
}

func benchRead(ctx context.Context, c *cli.Context, s *benchSetup) ([]*bench.Report, error) {
	k := c.Int("instances")
	if k < 1 || k > 10000 {
		return nil, badUsage(c, fmt.Errorf("--instances %d is not in 1..10000", k))
	}
	urls, body, err := bench.ReadSetup(ctx, s.env.Client, k)
	if err != nil {
		return nil, err
	}
	s.floor.GetBody = body // the floor serves the very bytes the node does
	return withFloor(ctx, c, s, func() (*bench.Report, error) {
		return bench.Read(ctx, s.env, bench.ReadConfig{Instances: k, AllNodes: c.Bool("all-nodes")}, urls)
	})
}

func benchBeat(ctx context.Context, c *cli.Context, s *benchSetup) ([]*bench.Report, error) {
	n, iv := c.Int("instances"), c.Duration("interval")
	if n < 1 || n > 1_000_000 {
		return nil, badUsage(c, fmt.Errorf("--instances %d is not in 1..1000000", n))
	}
	if iv < 100*time.Millisecond || iv > time.Minute {
		return nil, badUsage(c, fmt.Errorf("--interval %v is not in [100ms, 1m]", iv))
	}
	s.floor.PostForm = func(i int) url.Values { // the shape of a light beat
		return url.Values{"serviceName": {"bench-beat-0"}, "namespaceId": {bench.Namespace}, "ip": {"10.0.0.1"}, "port": {"8080"}}
	}
	cfg := bench.BeatConfig{Instances: n, Services: c.Int("services"), Interval: iv, Ramp: c.Duration("ramp"), Depth: c.Int("depth"),
		Clients: c.Int("clients"), OpenLoop: c.Bool("open-loop"), Settle: c.Duration("settle")}
	if c.IsSet("timeout") {
		cfg.Timeout = c.Duration("timeout")
	}
	if cfg.OpenLoop && !c.Bool("overload") {
		return nil, badUsage(c, errors.New("--open-loop needs --overload"))
	}
	if c.IsSet("settle") && (!c.Bool("overload") || cfg.Settle <= 0 || cfg.Settle > 10*time.Minute) {
		return nil, badUsage(c, fmt.Errorf("--settle %v needs --overload and must be in (0, 10m]", cfg.Settle))
	}
	goClient := false
	switch c.String("client") {
	case "nacos":
	case "go":
		goClient = true
		if cfg.Clients < 1 || cfg.Clients > 1000 {
			return nil, badUsage(c, fmt.Errorf("--clients %d is not in 1..1000", cfg.Clients))
		}
		if c.Bool("overload") {
			return nil, badUsage(c, errors.New("--overload sends Nacos beats; with --client go, offer more with --instances or --interval"))
		}
	default:
		return nil, badUsage(c, fmt.Errorf("--client %q: want nacos or go", c.String("client")))
	}
	return withFloor(ctx, c, s, func() (*bench.Report, error) {
		if goClient {
			return bench.BeatGo(ctx, s.env, cfg)
		}
		if c.Bool("overload") {
			return bench.Overload(ctx, s.env, cfg)
		}
		return bench.Beat(ctx, s.env, cfg)
	})
}

func benchLag(ctx context.Context, c *cli.Context, s *benchSetup) ([]*bench.Report, error) {
	w := c.Int("writes")
	if w < 1 || w > 100000 {
		return nil, badUsage(c, fmt.Errorf("--writes %d is not in 1..100000", w))
	}
	r, err := bench.Lag(ctx, s.env, bench.LagConfig{Writes: w})
	if r == nil {
		return nil, err
	}
	return []*bench.Report{r}, err
}

func benchDetect(ctx context.Context, c *cli.Context, s *benchSetup) ([]*bench.Report, error) {
	if s.local == nil {
		return nil, badUsage(c, errors.New("detect needs --local N (it kills processes it started)"))
	}
	runs := c.Int("runs")
	if runs < 1 || runs > 50 {
		return nil, badUsage(c, fmt.Errorf("--runs %d is not in 1..50", runs))
	}
	if c.Int("load") < 0 || c.Int("load") > 1024 {
		return nil, badUsage(c, fmt.Errorf("--load %d is not in 0..1024", c.Int("load")))
	}
	r, err := bench.Detect(ctx, s.env, s.local, bench.DetectConfig{Runs: runs, Services: c.Int("services"), LoadWorkers: c.Int("load")})
	if r == nil {
		return nil, err
	}
	return []*bench.Report{r}, err
}
