package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/roster-io/roster/agent"
)

const defaultShutdownTimeout = 10 * time.Second

// agentHooks let tests drive the agent without real signals or exits. The
// zero value means production behaviour.
type agentHooks struct {
	// started, if set, is called with the bound HTTP address once the node
	// serves.
	started func(addr string)
	// signals, if set, replaces the SIGINT/SIGTERM notification channel.
	signals <-chan os.Signal
	// exit, if set, replaces os.Exit for the second signal.
	exit func(code int)
}

// envVar is the environment variable that sets an agent flag:
// --tombstone-ttl → ROSTER_TOMBSTONE_TTL.
func envVar(flag string) []string {
	return []string{"ROSTER_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))}
}

func agentCommand(hooks agentHooks) *cli.Command {
	return &cli.Command{
		Name:  "agent",
		Usage: "run a roster node",
		Description: "Runs a node serving the client API on --http until SIGINT or SIGTERM. The first\n" +
			"signal shuts down gracefully within --shutdown-timeout; a second one exits at once.\n" +
			"Every flag can also be set from the environment (--flag-name as ROSTER_FLAG_NAME) and from a\n" +
			"TOML file given with --config (flag-name = value); precedence is flag > environment > file >\n" +
			"default. --print-config prints the effective settings in that format and exits.",
		Flags:  append(agentFlags(agent.DefaultConfig()), configFlags()...),
		Before: applyConfigFile,
		Action: func(c *cli.Context) error { return runAgent(c, hooks) },
	}
}

// agentFlags are the agent's flags, with defaults taken from def.
func agentFlags(def agent.Config) []cli.Flag {
	return append([]cli.Flag{
		&cli.StringFlag{Name: "name", EnvVars: envVar("name"), DefaultText: "hostname",
			Usage: "unique node name in the cluster"},
		&cli.StringFlag{Name: "http", Value: def.HTTPAddr, EnvVars: envVar("http"),
			Usage: "client API listen `host:port` (port 0 picks a free one)"},
		&cli.StringFlag{Name: "gossip", Value: def.GossipAddr, EnvVars: envVar("gossip"),
			Usage: "gossip (memberlist) bind `host:port`; the host must be an IP"},
		&cli.StringFlag{Name: "advertise", EnvVars: envVar("advertise"),
			Usage: "gossip `host:port` peers should use, if not --gossip"},
		&cli.StringFlag{Name: "grpc", Value: def.GRPCAddr, EnvVars: envVar("grpc"),
			Usage: "Nacos 2.x gRPC `address`: auto (the --http host and port + 1000, as Nacos), host:port, or off"},
		&cli.StringFlag{Name: "advertise-http", EnvVars: envVar("advertise-http"),
			Usage: "HTTP `host:port` peers should use for internal traffic (default: the bound --http address)"},
		&cli.StringSliceFlag{Name: "join", EnvVars: envVar("join"),
			Usage: "seed gossip `host:port` to join, retried with backoff until one answers; repeatable or comma-separated"},
		&cli.DurationFlag{Name: "join-timeout", Value: def.JoinTimeout, EnvVars: envVar("join-timeout"),
			Usage: "how long to wait for a --join seed to answer before starting a new cluster (seeds that refuse this node never let it start)"},
		&cli.StringFlag{Name: "gossip-profile", Value: def.GossipProfile, EnvVars: envVar("gossip-profile"),
			Usage: "failure-detection timing: lan (dead in ~2 s), local (loopback tests, ~1 s), wan, or shared (many nodes on few cores, ~5-10 s)"},
		&cli.BoolFlag{Name: "pprof", EnvVars: envVar("pprof"),
			Usage: "serve net/http/pprof under /debug/pprof/ on the --http port (profiles can reveal internals; off by default)"},
		&cli.BoolFlag{Name: "push-to-client-ip", EnvVars: envVar("push-to-client-ip"),
			Usage: "send Nacos UDP pushes to the list request's clientIP parameter instead of its source address (clients behind NAT; lets a caller aim pushes at any address, so off by default)"},
		&cli.BoolFlag{Name: "ui", Value: true, EnvVars: envVar("ui"),
			Usage: "serve the web console under /ui/ on the --http port (--ui=false turns it off)"},
		&cli.BoolFlag{Name: "debug-faults", EnvVars: envVar("debug-faults"),
			Usage: "enable PUT /debug/faults (loopback only) to cut traffic to chosen members, for chaos tests; never in production"},
		&cli.DurationFlag{Name: "max-clock-skew", Value: def.MaxClockSkew, EnvVars: envVar("max-clock-skew"),
			Usage: "how far ahead of this node's clock a peer's record may be stamped; records further ahead are refused and counted"},
		&cli.DurationFlag{Name: "tombstone-ttl", Value: def.TombstoneTTL, EnvVars: envVar("tombstone-ttl"),
			Usage: "how long deletions are remembered so older writes cannot resurrect them"},
		&cli.Int64Flag{Name: "max-body", Value: def.MaxBodyBytes, EnvVars: envVar("max-body"),
			Usage: "largest request body accepted, in `bytes`"},
		&cli.DurationFlag{Name: "shutdown-timeout", Value: defaultShutdownTimeout, EnvVars: envVar("shutdown-timeout"),
			Usage: "how long a graceful shutdown may take after the first signal"},
		&cli.StringFlag{Name: "log-level", Value: "info", EnvVars: envVar("log-level"),
			Usage: "log level: debug, info, warn or error"},
		&cli.StringFlag{Name: "log-format", Value: "text", EnvVars: envVar("log-format"),
			Usage: "log format: text or json"},
	}, append(append(append(securityFlags(def), doorFlags(def)...), overloadFlags(def)...), append(storageFlags(), healthFlags(def)...)...)...)
}

// agentOptions is what the agent flags configure besides the node.
type agentOptions struct {
	shutdownTimeout time.Duration
	logLevel        slog.Level
	logFormat       string
}

// agentConfig builds the node config and agent options from the flags,
// rejecting invalid values as usage errors. cfg.Logger is left unset.
func agentConfig(c *cli.Context) (agent.Config, agentOptions, error) {
	cfg := agent.DefaultConfig()
	if name := strings.TrimSpace(c.String("name")); name != "" {
		cfg.Name = name
	}
	cfg.HTTPAddr = c.String("http")
	cfg.GossipAddr = c.String("gossip")
	cfg.Advertise = c.String("advertise")
	cfg.AdvertiseHTTP = c.String("advertise-http")
	cfg.GRPCAddr = c.String("grpc")
	cfg.DebugFaults = c.Bool("debug-faults")
	cfg.Pprof = c.Bool("pprof")
	cfg.PushToClientIP = c.Bool("push-to-client-ip")
	cfg.NoUI = !c.Bool("ui")
	cfg.Join = splitList(c.StringSlice("join"))
	cfg.JoinTimeout = c.Duration("join-timeout")
	cfg.GossipProfile = c.String("gossip-profile")
	cfg.TombstoneTTL = c.Duration("tombstone-ttl")
	cfg.MaxClockSkew = c.Duration("max-clock-skew")
	cfg.MaxBodyBytes = c.Int64("max-body")

	opts := agentOptions{shutdownTimeout: c.Duration("shutdown-timeout"), logFormat: c.String("log-format")}
	bad := func(err error) (agent.Config, agentOptions, error) {
		return agent.Config{}, agentOptions{}, badUsage(c, err)
	}

	switch cfg.GossipProfile {
	case "lan", "local", "wan", "shared":
	default:
		return bad(fmt.Errorf("--gossip-profile %q is not lan, local, wan or shared", cfg.GossipProfile))
	}
	switch opts.logFormat {
	case "text", "json":
	default:
		return bad(fmt.Errorf("--log-format %q is not text or json", opts.logFormat))
	}
	level, ok := logLevels[c.String("log-level")]
	if !ok {
		return bad(fmt.Errorf("--log-level %q is not debug, info, warn or error", c.String("log-level")))
	}
	opts.logLevel = level
	if cfg.HTTPAddr == "" {
		return bad(errors.New("--http is empty"))
	}
	if cfg.JoinTimeout < 0 {
		return bad(fmt.Errorf("--join-timeout %v must not be negative", cfg.JoinTimeout))
	}
	if cfg.MaxClockSkew <= 0 {
		return bad(fmt.Errorf("--max-clock-skew %v must be positive", cfg.MaxClockSkew))
	}
	if cfg.TombstoneTTL <= 0 {
		return bad(fmt.Errorf("--tombstone-ttl %v must be positive", cfg.TombstoneTTL))
	}
	if cfg.MaxBodyBytes <= 0 {
		return bad(fmt.Errorf("--max-body %d must be positive", cfg.MaxBodyBytes))
	}
	if opts.shutdownTimeout <= 0 {
		return bad(fmt.Errorf("--shutdown-timeout %v must be positive", opts.shutdownTimeout))
	}
	if err := applySecurity(c, &cfg); err != nil {
		return bad(err)
	}
	if err := applyDoors(c, &cfg); err != nil {
		return bad(err)
	}
	if err := applyOverload(c, &cfg); err != nil {
		return bad(err)
	}
	if err := applyStorage(c, &cfg); err != nil {
		return bad(err)
	}
	if err := applyHealth(c, &cfg); err != nil {
		return bad(err)
	}
	return cfg, opts, nil
}

var logLevels = map[string]slog.Level{
	"debug": slog.LevelDebug,
	"info":  slog.LevelInfo,
	"warn":  slog.LevelWarn,
	"error": slog.LevelError,
}

// splitList splits every value on commas and drops blanks, so --join a,b
// --join c gives [a b c].
func splitList(values []string) []string {
	var out []string
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}

// newLogger builds the agent's logger writing to w.
func newLogger(w io.Writer, opts agentOptions) *slog.Logger {
	ho := &slog.HandlerOptions{Level: opts.logLevel}
	if opts.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, ho))
	}
	return slog.New(slog.NewTextHandler(w, ho))
}

func runAgent(c *cli.Context, hooks agentHooks) error {
	if c.Args().Present() {
		return badUsage(c, fmt.Errorf("unexpected argument %q", c.Args().First()))
	}
	cfg, opts, err := agentConfig(c)
	if err != nil {
		return err
	}
	if c.Bool(printConfigFlag) {
		return printConfig(c)
	}
	log := newLogger(c.App.ErrWriter, opts)
	cfg.Logger = log

	n, err := agent.New(cfg) // its errors begin with "agent: "
	if err != nil {
		return err
	}

	// Listen for signals before starting, so none is missed.
	sigs := hooks.signals
	if sigs == nil {
		ch := make(chan os.Signal, 2)
		signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
		defer signal.Stop(ch)
		sigs = ch
	}
	exit := hooks.exit
	if exit == nil {
		exit = os.Exit
	}

	if err := n.Start(); err != nil {
		_ = n.Shutdown(context.Background())
		return err
	}
	log.Info("roster agent running", "name", cfg.Name, "http", n.Addr())
	if hooks.started != nil {
		hooks.started(n.Addr())
	}

	sh := signalHandler{signals: sigs, exit: exit, timeout: opts.shutdownTimeout, log: log}
	if err := sh.wait(c.Context, n.Shutdown); err != nil {
		return err
	}
	log.Info("roster agent stopped")
	return nil
}
