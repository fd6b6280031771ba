package bench

// The local launcher runs a cluster of real `roster agent` processes on
// 127.0.0.1 for --local N through internal/agentproc: free ports, every
// node after the first joins the ones before it, and the cluster counts as
// up when every node answers /readyz and lists every node alive.
// Processes are stopped by PID only: SIGTERM, then SIGKILL after a
// deadline (Cluster.Shutdown).

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/roster-io/roster/internal/agentproc"
)

// LocalConfig configures a local cluster.
type LocalConfig struct {
	// Binary is the roster executable.
	Binary string
	// Nodes is the number of processes.
	Nodes int
	// GossipProfile is passed as --gossip-profile. Default "lan".
	GossipProfile string
	// LogLevel is passed as --log-level. Default "warn".
	LogLevel string
	// LogDir receives one log file per process. Default: a new temporary
	// directory.
	LogDir string
	// StartWithin bounds the wait for the cluster to come up. Default 30s.
	StartWithin time.Duration
	// StopWithin bounds a graceful stop before SIGKILL. Default 5s.
	StopWithin time.Duration
}

// StartWithin is how long a local cluster may take to come up, or to be
// whole again after a restart.
const StartWithin = 30 * time.Second

// StartLocal starts cfg.Nodes agents named bench1, bench2, … and waits
// until they form a ready cluster. On error it stops whatever it started.
// The caller stops the cluster with Shutdown(syscall.SIGTERM).
func StartLocal(ctx context.Context, cfg LocalConfig) (*agentproc.Cluster, error) {
	if cfg.Nodes < 1 {
		return nil, fmt.Errorf("bench: local: need at least 1 node, not %d", cfg.Nodes)
	}
	if cfg.Binary == "" {
		return nil, errors.New("bench: local: no roster binary")
	}
	if cfg.GossipProfile == "" {
		cfg.GossipProfile = "lan"
	}
	if cfg.LogLevel == "" {
		cfg.LogLevel = "warn"
	}
	if cfg.StartWithin <= 0 {
		cfg.StartWithin = StartWithin
	}
	if cfg.StopWithin <= 0 {
		cfg.StopWithin = 5 * time.Second
	}
	if cfg.LogDir == "" {
		dir, err := os.MkdirTemp("", "roster-bench-")
		if err != nil {
			return nil, fmt.Errorf("bench: local: %w", err)
		}
		cfg.LogDir = dir
	}
	// Each node keeps a data directory next to the logs, as in production.
	lc, err := agentproc.StartCluster(ctx, agentproc.ClusterConfig{Bin: cfg.Binary, LogDir: cfg.LogDir, StopWithin: cfg.StopWithin,
		DataDir: filepath.Join(cfg.LogDir, "data"),
		// No per-namespace instance limit: every mode writes to the one
		// bench namespace, and `bench all --full` holds 200,000 at once.
		Args: []string{"--gossip-profile", cfg.GossipProfile, "--log-level", cfg.LogLevel, "--max-instances-per-namespace", "0"}},
		"bench", cfg.Nodes, cfg.StartWithin)
	if err != nil {
		return nil, fmt.Errorf("bench: local: %w", err)
	}
	return lc, nil
}
