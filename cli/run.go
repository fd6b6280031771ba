package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/roster-io/roster/client"
	"github.com/urfave/cli/v2"
)

func runCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "run a program and keep it registered exactly while it can serve",
		ArgsUsage: "-- COMMAND [ARGS...]",
		Description: "Starts COMMAND and registers it as an instance of --service once --ip:--port accepts TCP\n" +
			"connections (or --health-url answers 2xx), never before. While it runs the instance beats.\n" +
			"On SIGTERM or SIGINT it deregisters first, waits until every node dropped the instance (at\n" +
			"most --drain), then forwards the signal, waits --kill-timeout for the program (then SIGKILL)\n" +
			"and exits with its exit code. A program that exits on its own is deregistered at once.\n" +
			"If roster run itself is killed with SIGKILL, the instance expires on its heartbeat timeout.",
		Flags: flags(serviceFlags(), []cli.Flag{
			&cli.IntFlag{Name: "port", Aliases: []string{"p"}, Usage: "port the program serves on, 1 to 65535 (required)"},
			&cli.StringFlag{Name: "ip", Usage: "instance IP (default: this host's first non-loopback IPv4, else 127.0.0.1)"},
			&cli.StringFlag{Name: "health-url", Usage: "HTTP URL that answers 2xx while the program is healthy"},
			&cli.DurationFlag{Name: "health-interval", Value: 2 * time.Second, Usage: "how often to check --health-url"},
			&cli.IntFlag{Name: "health-failures", Value: 3, Usage: "failed checks in a row that take the instance out of service"},
			&cli.StringFlag{Name: "on-unhealthy", Value: "disable", Usage: "`disable` (kept registered, enabled=false) or deregister"},
			&cli.DurationFlag{Name: "drain", Value: 5 * time.Second, Usage: "longest wait for the deregistration to reach every node before the program gets the signal"},
			&cli.DurationFlag{Name: "kill-timeout", Value: 10 * time.Second, Usage: "how long the program may take to exit after the signal before SIGKILL"},
			&cli.Float64Flag{Name: "weight", Usage: "load balancing weight, 0 to 10000 (server default: 1)"},
			&cli.StringSliceFlag{Name: "metadata", Aliases: []string{"m"}, Usage: "metadata `key=value`, repeatable (preserved.heart.beat.* set the timings in ms)"},
		}, nodeFlags()),
		Action: runRun,
	}
}

// nodeFlags are the connection flags of run and watch: several nodes to
// fail over between.
func nodeFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "addr", Value: cli.NewStringSlice(defaultAddr), EnvVars: []string{"ROSTER_ADDR"},
			Usage: "HTTP address of a roster node, repeatable or comma-separated; requests fail over between them"},
		&cli.StringFlag{Name: "token", EnvVars: []string{"ROSTER_TOKEN"}, Usage: "bearer token sent to the nodes"},
		&cli.StringFlag{Name: "ca-file", EnvVars: []string{"ROSTER_CA_FILE"}, Usage: "PEM CA certificates for https nodes"},
	}
}

// newClient builds a client from the node flags.
func newClient(c *cli.Context, log *slog.Logger) (*client.Client, error) {
	var addrs []string
	for _, a := range c.StringSlice("addr") {
		for _, s := range strings.Split(a, ",") {
			if s = strings.TrimSpace(s); s != "" {
				addrs = append(addrs, s)
			}
		}
	}
	cl, err := client.New(client.Config{Addrs: addrs, Token: c.String("token"), CAFile: c.String("ca-file"), Logger: log})
	if err != nil {
		return nil, badUsage(c, err)
	}
	return cl, nil
}

// runLogger logs roster run's own lines to errOut.
func runLogger(c *cli.Context) *slog.Logger {
	return slog.New(slog.NewTextHandler(c.App.ErrWriter, &slog.HandlerOptions{Level: slog.LevelInfo})).With("from", "roster run")
}

func runRun(c *cli.Context) error {
	s, argv, err := sidecarFrom(c)
	if err != nil {
		return err
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	child, err := startProcess(argv, os.Stdin, c.App.Writer, c.App.ErrWriter)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	s.child, s.signals = child, sigs
	code := s.run(c.Context)
	cctx, cancel := context.WithTimeout(context.WithoutCancel(c.Context), 5*time.Second)
	defer cancel()
	_ = s.client.Close(cctx)
	if code != 0 {
		return cli.Exit("", code)
	}
	return nil
}

// sidecarFrom builds the sidecar (without its process and signals) and
// the program's argv from the flags.
func sidecarFrom(c *cli.Context) (*sidecar, []string, error) {
	argv := c.Args().Slice()
	if len(argv) == 0 {
		return nil, nil, badUsage(c, errors.New("missing the program to run: roster run [flags] -- COMMAND [ARGS...]"))
	}
	service, err := requireString(c, "service")
	if err != nil {
		return nil, nil, err
	}
	port := c.Int("port")
	if !c.IsSet("port") || port < 1 || port > 65535 {
		return nil, nil, badUsage(c, fmt.Errorf("--port %d is missing or not between 1 and 65535", port))
	}
	ip := strings.TrimSpace(c.String("ip"))
	if ip == "" {
		ip = hostIP()
	}
	md, err := parseMetadata(c.StringSlice("metadata"))
	if err != nil {
		return nil, nil, badUsage(c, err)
	}
	w := c.Float64("weight")
	if w < 0 || w > 10000 {
		return nil, nil, badUsage(c, fmt.Errorf("--weight %v is not between 0 and 10000", w))
	}
	mode := c.String("on-unhealthy")
	if mode != "disable" && mode != "deregister" {
		return nil, nil, badUsage(c, fmt.Errorf("--on-unhealthy %q is not disable or deregister", mode))
	}
	for _, d := range []string{"health-interval", "drain", "kill-timeout"} {
		if c.Duration(d) <= 0 {
			return nil, nil, badUsage(c, fmt.Errorf("--%s %v must be positive", d, c.Duration(d)))
		}
	}
	if c.Int("health-failures") < 1 {
		return nil, nil, badUsage(c, fmt.Errorf("--health-failures %d must be at least 1", c.Int("health-failures")))
	}
	log := runLogger(c)
	cl, err := newClient(c, log)
	if err != nil {
		return nil, nil, err
	}
	s := &sidecar{
		client: cl,
		reg: client.Registration{InstanceKey: client.InstanceKey{
			Service: client.Service{Namespace: c.String("namespace"), Group: c.String("group"), Name: service},
			Cluster: c.String("cluster"), IP: ip, Port: port}, Weight: w, Metadata: md},
		readyEvery: 100 * time.Millisecond, healthEvery: c.Duration("health-interval"),
		healthFailures: c.Int("health-failures"), deregister: mode == "deregister",
		drain: c.Duration("drain"), killTimeout: c.Duration("kill-timeout"), log: log,
	}
	addr := net.JoinHostPort(ip, strconv.Itoa(port))
	s.ready = func(ctx context.Context) bool { return tcpOpen(ctx, addr) }
	if u := c.String("health-url"); u != "" {
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return nil, nil, badUsage(c, fmt.Errorf("--health-url %q is not an http(s) URL", u))
		}
		s.ready = func(ctx context.Context) bool { return httpOK(ctx, u) }
		s.health = s.ready
	}
	return s, argv, nil
}

// tcpOpen reports whether addr accepts a TCP connection.
func tcpOpen(ctx context.Context, addr string) bool {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// httpOK reports whether GET u answers 2xx.
func httpOK(ctx context.Context, u string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode <= 299
}

// hostIP returns this host's first non-loopback IPv4 address, or
// 127.0.0.1.
func hostIP() string {
	addrs, err := net.InterfaceAddrs()
	if err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
				return n.IP.String()
			}
		}
	}
	return "127.0.0.1"
}
