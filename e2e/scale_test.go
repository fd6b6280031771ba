package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roster-io/roster/internal/bench"
)

// scaleKeys are the JSON keys `roster bench scale` documents.
var scaleKeys = []string{"nodes", "members_converged_ms", "write_visible_p50_ms", "write_visible_p99_ms",
	"write_visible_max_ms", "idle_bytes_per_node_per_s", "load_bytes_per_node_per_s", "cpu_per_node",
	"moved_fraction_join", "moved_fraction_leave", "detect_ms", "false_suspicions", "rss_per_node_mb"}

// TestBenchScale_local3 runs the scale mode on three agents with short
// phases: every documented key is there with a sane value, and no agent
// process outlives the run.
func TestBenchScale_local3(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, err := bench.Scale(ctx, bench.ScaleConfig{Binary: binary(t), Nodes: 3, Idle: 1500 * time.Millisecond,
		Load: 1500 * time.Millisecond, Instances: 200, Interval: 500 * time.Millisecond, WriteRate: 40, Writes: 10,
		LogDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if left := childAgents(t); len(left) > 0 {
		t.Errorf("agent processes still running after the run: %v", left)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	num := func(k string) float64 {
		v, ok := got[k].(float64)
		if !ok {
			t.Errorf("key %s: %v, want a number", k, got[k])
		}
		return v
	}
	for _, k := range scaleKeys {
		if num(k) < 0 {
			t.Errorf("%s = %v, want >= 0", k, got[k])
		}
	}
	checks := []struct {
		key      string
		min, max float64
	}{
		{"nodes", 3, 3},
		{"members_converged_ms", 0, 60_000},
		{"write_visible_p50_ms", 0.01, 5_000},
		{"write_visible_max_ms", num("write_visible_p99_ms"), 5_000},
		// The idle window starts once every node's last-heard report
		// reached every member: at most a refresh (30 s) after the start.
		{"idle_settle_ms", 0, 60_000},
		{"idle_bytes_per_node_per_s", 1, 10 << 20},
		{"load_bytes_per_node_per_s", num("idle_bytes_per_node_per_s"), 100 << 20},
		{"cpu_per_node", 0.0001, 2},
		// A fourth node joining takes about a quarter of the partitions,
		// and one of four leaving hands on about a quarter: far from
		// none or all.
		{"moved_fraction_join", 0.05, 0.6},
		{"moved_fraction_leave", 0.05, 0.6},
		{"detect_ms", 1, 60_000},
		{"rss_per_node_mb", 5, 500},
		{"load_register_s", 0.001, 60},
		// The Go client holding the instances beats each to its owner:
		// acknowledged beats, and few handed on (Nacos beats to three
		// nodes would hand on two thirds).
		{"load_ops_per_s", 1, 1e6},
		{"load_beats_per_s", 1, 1e6},
		{"handed_off_share", 0, 0.3},
	}
	if got["beat_client"] != "go" {
		t.Errorf("beat_client %v, want go (the default)", got["beat_client"])
	}
	for _, c := range checks {
		if v := num(c.key); v < c.min || v > c.max {
			t.Errorf("%s = %v, want in [%v, %v]", c.key, v, c.min, c.max)
		}
	}
}

// childAgents lists the roster processes whose parent is this test.
func childAgents(t *testing.T) []string {
	t.Helper()
	dirs, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		t.Fatal(err)
	}
	self := strconv.Itoa(os.Getpid())
	var out []string
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil {
			continue // gone meanwhile
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 || !strings.Contains(s[:i], "(roster") {
			continue
		}
		if f := strings.Fields(s[i+1:]); len(f) > 1 && f[1] == self {
			out = append(out, d)
		}
	}
	return out
}

// TestBenchLocal_keepLogs: `--keep-logs` keeps a successful --local run's
// agents' logs, written at `--agent-log-level`, and says where; without
// it they go.
func TestBenchLocal_keepLogs(t *testing.T) {
	kept := regexp.MustCompile(`logs are kept in (\S+)`)
	run := func(extra ...string) string {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		args := append([]string{"bench", "read", "--local", "1", "--duration", "300ms", "--floor=false", "--concurrency", "2"}, extra...)
		cmd := exec.CommandContext(ctx, binary(t), args...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("roster %v: %v\n%s", args, err, stderr.String())
		}
		return stderr.String()
	}
	out := run("--keep-logs", "--agent-log-level", "info")
	m := kept.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no kept directory named in:\n%s", out)
	}
	t.Cleanup(func() { os.RemoveAll(m[1]) })
	logs, err := filepath.Glob(filepath.Join(m[1], "*.log"))
	if err != nil || len(logs) == 0 {
		t.Fatalf("no agent log in %s (%v)", m[1], err)
	}
	b, err := os.ReadFile(logs[0])
	if err != nil || !strings.Contains(string(b), "level=INFO") {
		t.Errorf("%s has no INFO line (%v):\n%.2000s", logs[0], err, b)
	}
	if out := run(); kept.MatchString(out) {
		t.Errorf("a run without --keep-logs kept its logs:\n%s", out)
	}
}

// TestBenchLocal_agentCPULimit: `--agent-cpu-limit` puts the --local
// agents in a cgroup with that quota for the run, says so and how long
// they were held back, and removes the cgroup after.
func TestBenchLocal_agentCPULimit(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("cgroups need root")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), "bench", "read", "--local", "1", "--duration", "500ms", "--floor=false",
		"--concurrency", "8", "--agent-cpu-limit", "0.3")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("roster bench: %v\n%s", err, stderr.String())
	}
	out := stderr.String()
	for _, want := range []string{"the agents share 0.3 cores", "the agents were throttled for"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	left, _ := filepath.Glob(fmt.Sprintf("/sys/fs/cgroup/*roster-bench-%d-*", cmd.Process.Pid))
	more, _ := filepath.Glob(fmt.Sprintf("/sys/fs/cgroup/cpu/roster-bench-%d-*", cmd.Process.Pid))
	if len(left)+len(more) > 0 {
		t.Errorf("the run left its cgroup behind: %v %v", left, more)
	}
}
