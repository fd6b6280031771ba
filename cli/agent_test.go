package cli

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/internal/await"
)

// clearRosterEnv unsets every ROSTER_* variable for the test.
func clearRosterEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "ROSTER_") {
			t.Setenv(k, "") // restored after the test
			os.Unsetenv(k)
		}
	}
}

// parseAgentFlags runs the agent's flag parsing only and returns what it
// built; the node is not started.
func parseAgentFlags(t *testing.T, args ...string) (agent.Config, agentOptions, result) {
	t.Helper()
	var out, errOut bytes.Buffer
	app := newApp(&out, &errOut, agentHooks{})
	var cfg agent.Config
	var opts agentOptions
	app.Command("agent").Action = func(c *cli.Context) error {
		var err error
		cfg, opts, err = agentConfig(c)
		return err
	}
	code := execute(context.Background(), app, append([]string{"roster", "agent"}, args...))
	return cfg, opts, result{code: code, out: out.String(), errOut: errOut.String()}
}

func TestAgent_flags(t *testing.T) {
	def := agent.DefaultConfig()
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want func(*agent.Config, *agentOptions)
	}{
		{
			name: "defaults",
			want: func(*agent.Config, *agentOptions) {},
		},
		{
			name: "join repeated and comma-separated",
			args: []string{"--join", "a:1,b:2", "--join", "c:3", "--join", " d:4 , ,"},
			want: func(c *agent.Config, _ *agentOptions) { c.Join = []string{"a:1", "b:2", "c:3", "d:4"} },
		},
		{
			name: "every flag",
			args: []string{"--name", "n1", "--http", "127.0.0.1:0", "--gossip", "127.0.0.1:7000",
				"--advertise", "10.0.0.1:7000", "--gossip-profile", "wan", "--tombstone-ttl", "1m",
				"--max-body", "2048", "--shutdown-timeout", "3s", "--log-level", "debug", "--log-format", "json"},
			want: func(c *agent.Config, o *agentOptions) {
				c.Name, c.HTTPAddr, c.GossipAddr, c.Advertise = "n1", "127.0.0.1:0", "127.0.0.1:7000", "10.0.0.1:7000"
				c.GossipProfile, c.TombstoneTTL, c.MaxBodyBytes = "wan", time.Minute, 2048
				o.shutdownTimeout, o.logLevel, o.logFormat = 3*time.Second, slog.LevelDebug, "json"
			},
		},
		{
			name: "environment",
			env: map[string]string{
				"ROSTER_NAME": "n2", "ROSTER_HTTP": "127.0.0.1:1", "ROSTER_GOSSIP": "127.0.0.1:2",
				"ROSTER_ADVERTISE": "10.0.0.2:2", "ROSTER_JOIN": "x:1, y:2", "ROSTER_GOSSIP_PROFILE": "local",
				"ROSTER_TOMBSTONE_TTL": "90s", "ROSTER_MAX_BODY": "10", "ROSTER_SHUTDOWN_TIMEOUT": "1s",
				"ROSTER_LOG_LEVEL": "error", "ROSTER_LOG_FORMAT": "json",
			},
			want: func(c *agent.Config, o *agentOptions) {
				c.Name, c.HTTPAddr, c.GossipAddr, c.Advertise = "n2", "127.0.0.1:1", "127.0.0.1:2", "10.0.0.2:2"
				c.Join, c.GossipProfile, c.TombstoneTTL, c.MaxBodyBytes = []string{"x:1", "y:2"}, "local", 90*time.Second, 10
				o.shutdownTimeout, o.logLevel, o.logFormat = time.Second, slog.LevelError, "json"
			},
		},
		{
			name: "flags beat environment",
			env:  map[string]string{"ROSTER_JOIN": "x:1", "ROSTER_GOSSIP_PROFILE": "local"},
			args: []string{"--join", "z:9", "--gossip-profile", "wan"},
			want: func(c *agent.Config, _ *agentOptions) { c.Join, c.GossipProfile = []string{"z:9"}, "wan" },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearRosterEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			cfg, opts, res := parseAgentFlags(t, tt.args...)
			if res.code != 0 {
				t.Fatalf("got exit code %d, want 0; stderr: %s", res.code, res.errOut)
			}
			want := def
			wantOpts := agentOptions{shutdownTimeout: 10 * time.Second, logFormat: "text"}
			tt.want(&want, &wantOpts)
			got := []any{cfg.Name, cfg.HTTPAddr, cfg.GossipAddr, cfg.Advertise, cfg.Join,
				cfg.GossipProfile, cfg.TombstoneTTL, cfg.MaxBodyBytes, opts}
			exp := []any{want.Name, want.HTTPAddr, want.GossipAddr, want.Advertise, want.Join,
				want.GossipProfile, want.TombstoneTTL, want.MaxBodyBytes, wantOpts}
			if !reflect.DeepEqual(got, exp) {
				t.Errorf("got %v, want %v", got, exp)
			}
		})
	}
}

func TestAgent_badFlags(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr string
	}{
		{name: "gossip profile", args: []string{"--gossip-profile", "moon"}, wantErr: `--gossip-profile "moon" is not lan, local, wan or shared`},
		{name: "gossip profile from env", env: map[string]string{"ROSTER_GOSSIP_PROFILE": "LAN"}, wantErr: `--gossip-profile "LAN"`},
		{name: "log level", args: []string{"--log-level", "trace"}, wantErr: `--log-level "trace"`},
		{name: "log format", args: []string{"--log-format", "xml"}, wantErr: `--log-format "xml"`},
		{name: "tombstone ttl zero", args: []string{"--tombstone-ttl", "0s"}, wantErr: "--tombstone-ttl 0s must be positive"},
		{name: "tombstone ttl unparsable", args: []string{"--tombstone-ttl", "soon"}, wantErr: "invalid value"},
		{name: "max body", args: []string{"--max-body", "-1"}, wantErr: "--max-body -1 must be positive"},
		{name: "max body from env", env: map[string]string{"ROSTER_MAX_BODY": "lots"}, wantErr: "ROSTER_MAX_BODY"},
		{name: "shutdown timeout", args: []string{"--shutdown-timeout", "0s"}, wantErr: "--shutdown-timeout 0s must be positive"},
		{name: "positional argument", args: []string{"now"}, wantErr: `unexpected argument "now"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearRosterEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			// The real agent, with a context already cancelled: if the flags
			// were wrongly accepted it stops at once instead of serving.
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			var out, errOut bytes.Buffer
			app := newApp(&out, &errOut, agentHooks{signals: make(chan os.Signal)})
			code := execute(ctx, app, append([]string{"roster", "agent", "--http", "127.0.0.1:0"}, tt.args...))
			if code != exitUsage {
				t.Errorf("got exit code %d, want %d", code, exitUsage)
			}
			if got := errOut.String(); !strings.Contains(got, tt.wantErr) || !strings.Contains(got, "roster agent --help") {
				t.Errorf("got stderr %q, want it to contain %q and a help hint", got, tt.wantErr)
			}
		})
	}
}

// runningAgent is an agent command running in-process.
type runningAgent struct {
	addr    string
	signals chan os.Signal
	cancel  context.CancelFunc
	done    chan int // receives the exit code
	errOut  *lockedBuffer
}

// startAgent runs `roster agent args...` in-process and waits until it serves.
func startAgent(t *testing.T, args ...string) *runningAgent {
	t.Helper()
	clearRosterEnv(t)
	if !slices.Contains(args, "--gossip") {
		args = append(args, "--gossip", "127.0.0.1:0") // never the default port
	}
	if !slices.Contains(args, "--data-dir") {
		args = append(args, "--in-memory") // never data/ in the package directory
	}
	ctx, cancel := context.WithCancel(context.Background())
	a := &runningAgent{
		signals: make(chan os.Signal, 2),
		cancel:  cancel,
		done:    make(chan int, 1),
		errOut:  &lockedBuffer{},
	}
	addrs := make(chan string, 1)
	hooks := agentHooks{
		started: func(addr string) { addrs <- addr },
		signals: a.signals,
		exit:    func(code int) { t.Errorf("exit(%d) called, want a graceful stop", code) },
	}
	app := newApp(io.Discard, a.errOut, hooks)
	go func() {
		a.done <- execute(ctx, app, append([]string{"roster", "agent"}, args...))
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-a.done:
		case <-time.After(testDeadline):
			t.Errorf("agent did not stop")
		}
	})
	select {
	case a.addr = <-addrs:
	case code := <-a.done:
		a.done <- code
		t.Fatalf("agent exited with code %d before serving; stderr: %s", code, a.errOut.String())
	case <-time.After(testDeadline):
		t.Fatalf("agent did not start; stderr: %s", a.errOut.String())
	}
	// Serving is not ready: wait until the node holds the registry.
	await.Explain(t, testDeadline, "agent ready", func() (bool, string) {
		resp, err := http.Get("http://" + a.addr + "/readyz")
		if err != nil {
			return false, "stderr: " + a.errOut.String()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, "stderr: " + a.errOut.String()
	})
	return a
}

// wait returns the agent's exit code, failing at the deadline.
func (a *runningAgent) wait(t *testing.T) int {
	t.Helper()
	select {
	case code := <-a.done:
		a.done <- code // for the cleanup
		return code
	case <-time.After(testDeadline):
		t.Fatalf("agent did not stop; stderr: %s", a.errOut.String())
		return -1
	}
}

func TestAgent_servesAndStopsOnSignal(t *testing.T) {
	a := startAgent(t, "--http", "127.0.0.1:0", "--gossip", "127.0.0.1:0", "--name", "test-node", "--log-format", "json")

	client := &http.Client{Timeout: testDeadline}
	resp, err := client.Get("http://" + a.addr + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "ok" {
		t.Errorf("got %d %q, want 200 \"ok\"", resp.StatusCode, body)
	}

	a.signals <- syscall.SIGTERM
	if code := a.wait(t); code != 0 {
		t.Errorf("got exit code %d, want 0; stderr: %s", code, a.errOut.String())
	}
	if conn, err := net.DialTimeout("tcp", a.addr, testDeadline); err == nil {
		conn.Close()
		t.Errorf("got a connection to %s after shutdown, want it closed", a.addr)
	}
	logs := a.errOut.String()
	for _, want := range []string{`"msg":"roster agent running"`, `"http":"` + a.addr + `"`, `"name":"test-node"`,
		`"signal":"terminated"`, `"msg":"roster agent stopped"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("got logs %s, want them to contain %s", logs, want)
		}
	}
}

func TestAgent_stopsWhenContextEnds(t *testing.T) {
	a := startAgent(t, "--http", "127.0.0.1:0", "--log-level", "warn")
	a.cancel()
	if code := a.wait(t); code != 0 {
		t.Errorf("got exit code %d, want 0; stderr: %s", code, a.errOut.String())
	}
	if logs := a.errOut.String(); strings.Contains(logs, "roster agent running") {
		t.Errorf("got info logs %q at --log-level warn, want none", logs)
	}
}

func TestAgent_listenFailure(t *testing.T) {
	clearRosterEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(func() { ln.Close() })

	ctx, cancel := context.WithCancel(context.Background())
	cancel() // if it wrongly started, stop at once
	var errOut bytes.Buffer
	app := newApp(io.Discard, &errOut, agentHooks{signals: make(chan os.Signal)})
	code := execute(ctx, app, []string{"roster", "agent", "--in-memory", "--http", ln.Addr().String()})
	if code != exitFailure {
		t.Errorf("got exit code %d, want %d", code, exitFailure)
	}
	if want := "roster: agent: listen " + ln.Addr().String(); !strings.Contains(errOut.String(), want) {
		t.Errorf("got stderr %q, want it to contain %q", errOut.String(), want)
	}
}
