package cli

import (
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/roster-io/roster/internal/bench"
)

// scaleConfigFor parses args as `roster bench scale` would, returning
// the configuration it would run.
func scaleConfigFor(t *testing.T, args ...string) bench.ScaleConfig {
	t.Helper()
	cmd := benchScaleCommand()
	var got bench.ScaleConfig
	cmd.Action = func(c *cli.Context) error {
		sizes, err := scaleSizes(c.String("local"))
		if err != nil {
			return err
		}
		got, err = scaleConfig(c, sizes)
		return err
	}
	app := &cli.App{Commands: []*cli.Command{cmd}}
	if err := app.Run(append([]string{"roster", "scale"}, args...)); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return got
}

// The defaults are for N agents sharing this machine: the shared gossip
// profile, and a write rate that every size of a run shares and that
// falls with the largest size (every node applies every write).
func TestScaleConfig_defaultsFitTheLargestSize(t *testing.T) {
	tests := []struct {
		args        []string
		wantRate    int
		wantProfile string
	}{
		{[]string{"--local", "3"}, 500, "shared"},
		{[]string{"--local", "10"}, 200, "shared"},
		{[]string{"--local", "100"}, 20, "shared"},
		{[]string{"--local", "3,100,10"}, 20, "shared"},
		{[]string{"--local", "100", "--write-rate", "300", "--gossip-profile", "lan"}, 300, "lan"},
		{[]string{"--local", "100", "--write-rate", "0"}, 0, "shared"},
	}
	for _, tt := range tests {
		cfg := scaleConfigFor(t, tt.args...)
		if cfg.WriteRate != tt.wantRate || cfg.GossipProfile != tt.wantProfile {
			t.Errorf("%v: got write rate %d and profile %q, want %d and %q",
				tt.args, cfg.WriteRate, cfg.GossipProfile, tt.wantRate, tt.wantProfile)
		}
	}
}
