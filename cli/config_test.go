package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/urfave/cli/v2"

	"github.com/roster-io/roster/agent"
)

// writeConfig writes a config file in the test's temp dir.
func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "roster.toml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestConfig_precedence(t *testing.T) {
	const file = `gossip-profile = "wan"
max-body = 111
join = ["file:1", "file:2"]
pprof = true
tombstone-ttl = "1m"
`
	tests := []struct {
		name    string
		file    bool
		env     map[string]string
		args    []string
		profile string
		maxBody int64
		join    []string
		pprof   bool
		ttl     time.Duration
	}{
		{name: "default", profile: "lan", maxBody: 1 << 20, ttl: 10 * time.Minute},
		{name: "file beats default", file: true, profile: "wan", maxBody: 111, join: []string{"file:1", "file:2"}, pprof: true, ttl: time.Minute},
		{name: "env beats file", file: true,
			env:     map[string]string{"ROSTER_GOSSIP_PROFILE": "local", "ROSTER_MAX_BODY": "222", "ROSTER_JOIN": "env:1", "ROSTER_PPROF": "false", "ROSTER_TOMBSTONE_TTL": "2m"},
			profile: "local", maxBody: 222, join: []string{"env:1"}, pprof: false, ttl: 2 * time.Minute},
		{name: "flag beats env and file", file: true,
			env:     map[string]string{"ROSTER_GOSSIP_PROFILE": "local", "ROSTER_MAX_BODY": "222", "ROSTER_JOIN": "env:1", "ROSTER_TOMBSTONE_TTL": "2m"},
			args:    []string{"--gossip-profile", "lan", "--max-body", "333", "--join", "flag:1", "--pprof=false", "--tombstone-ttl", "3m"},
			profile: "lan", maxBody: 333, join: []string{"flag:1"}, pprof: false, ttl: 3 * time.Minute},
		{name: "flag beats file, file fills the rest", file: true,
			args:    []string{"--max-body", "444"},
			profile: "wan", maxBody: 444, join: []string{"file:1", "file:2"}, pprof: true, ttl: time.Minute},
		{name: "config path from the environment", env: map[string]string{"ROSTER_CONFIG": "FILE"},
			profile: "wan", maxBody: 111, join: []string{"file:1", "file:2"}, pprof: true, ttl: time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearRosterEnv(t)
			path := writeConfig(t, file)
			for k, v := range tt.env {
				if v == "FILE" {
					v = path
				}
				t.Setenv(k, v)
			}
			args := tt.args
			if tt.file {
				args = append([]string{"--config", path}, args...)
			}
			cfg, _, res := parseAgentFlags(t, args...)
			if res.code != 0 {
				t.Fatalf("got exit code %d, want 0; stderr: %s", res.code, res.errOut)
			}
			got := []any{cfg.GossipProfile, cfg.MaxBodyBytes, cfg.Join, cfg.Pprof, cfg.TombstoneTTL}
			want := []any{tt.profile, tt.maxBody, tt.join, tt.pprof, tt.ttl}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

func TestConfig_printConfigRoundTrips(t *testing.T) {
	clearRosterEnv(t)
	t.Setenv("ROSTER_LOG_FORMAT", "json")
	first := runCLI(t, "agent", "--print-config", "--name", "n7", "--join", "a:1,b:2", "--join", "c:3",
		"--max-body", "2048", "--tombstone-ttl", "90s", "--pprof", "--http", "127.0.0.1:9999")
	if first.code != 0 {
		t.Fatalf("print-config: exit %d, stderr %s", first.code, first.errOut)
	}
	// Every agent flag is a key of the printed file, with its effective value.
	var values map[string]any
	if _, err := toml.Decode(first.out, &values); err != nil {
		t.Fatalf("printed config is not TOML: %v\n%s", err, first.out)
	}
	for _, f := range agentFlags(agent.DefaultConfig()) {
		if _, ok := values[f.Names()[0]]; !ok {
			t.Errorf("flag --%s missing from the printed config", f.Names()[0])
		}
	}
	for _, key := range []string{"config", "print-config", "help"} {
		if _, ok := values[key]; ok {
			t.Errorf("key %q printed, want only settings", key)
		}
	}
	want := map[string]any{"name": "n7", "max-body": int64(2048), "tombstone-ttl": "1m30s", "pprof": true,
		"http": "127.0.0.1:9999", "log-format": "json", "log-level": "info",
		"join": []any{"a:1,b:2", "c:3"}}
	for k, v := range want {
		if !reflect.DeepEqual(values[k], v) {
			t.Errorf("printed %s: got %#v, want %#v", k, values[k], v)
		}
	}

	// Read back with nothing else set, it prints the same settings.
	clearRosterEnv(t)
	path := writeConfig(t, first.out)
	second := runCLI(t, "agent", "--config", path, "--print-config")
	if second.code != 0 {
		t.Fatalf("print-config from the file: exit %d, stderr %s", second.code, second.errOut)
	}
	if second.out != first.out {
		t.Errorf("round trip changed the settings:\n--- first\n%s\n--- second\n%s", first.out, second.out)
	}
}

// TestConfig_newFlagsNeedNoCode adds a flag to the agent command, as other
// work will, and sets and prints it through the file.
func TestConfig_newFlagsNeedNoCode(t *testing.T) {
	clearRosterEnv(t)
	for _, tt := range []struct {
		flag cli.Flag
		file string
		want string
	}{
		{&cli.IntFlag{Name: "extra-int", Value: 1}, "extra-int = 7", "extra-int = 7"},
		{&cli.StringSliceFlag{Name: "extra-list"}, `extra-list = ["x", "y"]`, `extra-list = ["x", "y"]`},
		{&cli.Float64Flag{Name: "extra-float"}, "extra-float = 0.5", "extra-float = 0.5"},
		{&cli.UintFlag{Name: "extra-uint"}, "extra-uint = 9", "extra-uint = 9"},
	} {
		t.Run(tt.flag.Names()[0], func(t *testing.T) {
			var out, errOut bytes.Buffer
			app := newApp(&out, &errOut, agentHooks{})
			cmd := app.Command("agent")
			cmd.Flags = append(cmd.Flags, tt.flag)
			path := writeConfig(t, tt.file+"\n")
			code := execute(context.Background(), app, []string{"roster", "agent", "--config", path, "--print-config"})
			if code != 0 {
				t.Fatalf("exit %d, stderr %s", code, errOut.String())
			}
			if !strings.Contains(out.String(), "\n"+tt.want+"\n") {
				t.Errorf("printed config lacks %q:\n%s", tt.want, out.String())
			}
		})
	}
}

func TestConfig_badFile(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		body string // "" means the path is a directory
		want []string
	}{
		{name: "unknown key", body: "max-bdy = 1\n", want: []string{`unknown key "max-bdy"`}},
		{name: "table", body: "[agent]\nname = \"x\"\n", want: []string{`unknown key "agent"`}},
		{name: "string for integer", body: "max-body = \"big\"\n", want: []string{`key "max-body"`, "want an integer, got a string"}},
		{name: "integer for string", body: "http = 8848\n", want: []string{`key "http"`, "want a string, got an integer"}},
		{name: "string for bool", body: "pprof = \"yes\"\n", want: []string{`key "pprof"`, "want true or false"}},
		{name: "bad duration", body: "tombstone-ttl = \"5\"\n", want: []string{`key "tombstone-ttl"`, `invalid value "5"`}},
		{name: "array of numbers for strings", body: "join = [1, 2]\n", want: []string{`key "join"`, "array of strings"}},
		{name: "syntax", body: "name = \n", want: []string{"line 1"}},
		{name: "valid file, invalid value", body: "log-format = \"xml\"\n", want: []string{`--log-format "xml"`}},
		{name: "unreadable", body: "", want: []string{"--config", dir}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearRosterEnv(t)
			path := dir
			if tt.body != "" {
				path = writeConfig(t, tt.body)
			} else {
				tt.want = append(tt.want, path)
			}
			if tt.body != "" && !strings.HasPrefix(tt.name, "valid file") {
				tt.want = append(tt.want, path)
			}
			res := runCLI(t, "agent", "--config", path, "--print-config")
			if res.code != exitUsage {
				t.Errorf("got exit code %d, want %d", res.code, exitUsage)
			}
			if res.out != "" {
				t.Errorf("printed %q on a bad config, want nothing", res.out)
			}
			for _, w := range tt.want {
				if !strings.Contains(res.errOut, w) {
					t.Errorf("stderr %q lacks %q", res.errOut, w)
				}
			}
		})
	}
	// A missing file too.
	clearRosterEnv(t)
	missing := filepath.Join(dir, "missing.toml")
	res := runCLI(t, "agent", "--config", missing)
	if res.code != exitUsage || !strings.Contains(res.errOut, missing) {
		t.Errorf("missing file: got %d %q, want %d naming the file", res.code, res.errOut, exitUsage)
	}
}

// TestConfig_printConfigHidesSecrets checks --print-config never echoes a
// key, token or password, and says it was set.
func TestConfig_printConfigHidesSecrets(t *testing.T) {
	clearRosterEnv(t)
	key := "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ="
	t.Setenv("ROSTER_CLUSTER_SECRET", "env-secret-value-1234567")
	r := runCLI(t, "agent", "--print-config", "--gossip-key", key, "--acl-token", "tok-abcdef", "--acl-user", "ann:pw-xyz")
	if r.code != 0 {
		t.Fatalf("print-config: exit %d, stderr %s", r.code, r.errOut)
	}
	for _, secret := range []string{key, "tok-abcdef", "pw-xyz", "env-secret-value-1234567"} {
		if strings.Contains(r.out, secret) {
			t.Errorf("printed config contains the secret %q", secret)
		}
	}
	for _, name := range []string{"gossip-key", "cluster-secret", "acl-token", "acl-user"} {
		if !strings.Contains(r.out, "# "+name+" is set but not printed") {
			t.Errorf("no note that --%s is set", name)
		}
	}
	var values map[string]any
	if _, err := toml.Decode(r.out, &values); err != nil {
		t.Fatalf("printed config is not TOML: %v", err)
	}
}
