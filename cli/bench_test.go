package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roster-io/roster/agent/agenttest"
)

func TestBench_usage(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{"unknown mode", []string{"bench", "frob"}, exitUsage, `unknown bench mode "frob"`},
		{"detect needs --local", []string{"bench", "detect", "--addrs", "127.0.0.1:1", "--floor=false"}, exitUsage, "detect needs --local"},
		{"duration capped", []string{"bench", "read", "--duration", "11m"}, exitUsage, "--duration 11m0s"},
		{"bad concurrency", []string{"bench", "register", "--concurrency", "0"}, exitUsage, "--concurrency 0"},
		{"services over instances", []string{"bench", "register", "--instances", "5", "--services", "6", "--floor=false"}, exitUsage, "--services (6)"},
		{"scale size out of range", []string{"bench", "scale", "--local", "3,1"}, exitUsage, `--local "3,1"`},
		{"bad agent log level", []string{"bench", "read", "--local", "1", "--agent-log-level", "loud"}, exitUsage, `--agent-log-level "loud"`},
		{"cpu limit without --local", []string{"bench", "read", "--agent-cpu-limit", "0.5"}, exitUsage, "--agent-cpu-limit 0.5: needs --local"},
		{"cpu limit too small", []string{"bench", "read", "--local", "1", "--agent-cpu-limit", "0.001"}, exitUsage, "--agent-cpu-limit 0.001"},
		{"open loop without overload", []string{"bench", "beat", "--open-loop", "--floor=false"}, exitUsage, "--open-loop needs --overload"},
		{"settle without overload", []string{"bench", "beat", "--settle", "30s", "--floor=false"}, exitUsage, "--settle 30s needs --overload"},
		{"settle capped", []string{"bench", "beat", "--overload", "--settle", "11m", "--floor=false"}, exitUsage, "--settle 11m0s needs --overload"},
		{"scale idle window capped", []string{"bench", "scale", "--local", "3", "--idle", "11m"}, exitUsage, "--idle 11m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runCLI(t, tt.args...)
			if res.code != tt.wantCode {
				t.Errorf("got exit code %d, want %d; stderr: %s", res.code, tt.wantCode, res.errOut)
			}
			if !strings.Contains(res.errOut, tt.wantStderr) {
				t.Errorf("got stderr %q, want it to contain %q", res.errOut, tt.wantStderr)
			}
		})
	}
}

func TestBench_floorJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "floor.json")
	res := runCLI(t, "bench", "floor", "--duration", "200ms", "--concurrency", "4", "--json", path)
	if res.code != exitOK {
		t.Fatalf("got exit code %d, want 0; stderr: %s", res.code, res.errOut)
	}
	if !strings.Contains(res.out, "GET fixed body rate") || !strings.Contains(res.out, "req/s") {
		t.Errorf("got stdout %q, want the floor table", res.out)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Reports []struct {
			Mode    string `json:"mode"`
			Figures []struct {
				Name string `json:"name"`
				Unit string `json:"unit"`
			} `json:"figures"`
		} `json:"reports"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, data)
	}
	if len(doc.Reports) != 1 || doc.Reports[0].Mode != "floor" || len(doc.Reports[0].Figures) == 0 {
		t.Errorf("got %+v, want one floor report with figures", doc.Reports)
	}
	for _, f := range doc.Reports[0].Figures {
		if f.Unit == "" {
			t.Errorf("figure %q has no unit", f.Name)
		}
	}
}

// TestBench_againstNode runs register and read through the command line
// against a real in-process node.
func TestBench_againstNode(t *testing.T) {
	addr := agenttest.URL(agenttest.Start(t))

	res := runCLI(t, "bench", "register", "--addrs", addr, "--instances", "100", "--services", "5",
		"--concurrency", "4", "--floor-duration", "100ms")
	if res.code != exitOK {
		t.Fatalf("register: got exit code %d; stderr: %s", res.code, res.errOut)
	}
	for _, want := range []string{"== floor", "== register", "register rate", "all nodes list all"} {
		if !strings.Contains(res.out, want) {
			t.Errorf("register: got stdout\n%s\nwant it to contain %q", res.out, want)
		}
	}
	res = runCLI(t, "bench", "read", "--addrs", addr, "--duration", "200ms", "--concurrency", "4", "--floor=false")
	if res.code != exitOK {
		t.Fatalf("read: got exit code %d; stderr: %s", res.code, res.errOut)
	}
	if !strings.Contains(res.out, "read rate") || strings.Contains(res.out, "== floor") {
		t.Errorf("read: got stdout\n%s\nwant a read table and no floor", res.out)
	}
}
