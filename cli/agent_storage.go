package cli

// The agent's storage flags, kept apart from agent.go: where the data
// directory is, or that there is none.

import (
	"errors"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/roster-io/roster/agent"
)

// storageFlags are the agent's storage flags.
func storageFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "data-dir", EnvVars: envVar("data-dir"), DefaultText: "data/<name>",
			Usage: "`directory` that keeps persistent instances, services and their tombstones across restarts (one per node)"},
		&cli.BoolFlag{Name: "in-memory", EnvVars: envVar("in-memory"),
			Usage: "keep nothing on disk: a restart of every node loses persistent instances and services (tests)"},
	}
}

// applyStorage reads the storage flags into cfg; cfg.Name must be set.
func applyStorage(c *cli.Context, cfg *agent.Config) error {
	dir := strings.TrimSpace(c.String("data-dir"))
	switch {
	case c.Bool("in-memory") && dir != "":
		return errors.New("--in-memory and --data-dir exclude each other")
	case c.Bool("in-memory"):
		cfg.DataDir = ""
	case dir != "":
		cfg.DataDir = dir
	default:
		cfg.DataDir = filepath.Join("data", cfg.Name)
	}
	return nil
}
