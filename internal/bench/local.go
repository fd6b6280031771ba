package bench

// The local launcher runs a cluster of real `roster agent` processes on
// 127.0.0.1 for --local N: free ports, every node after the first joins the
// ones before it, and the cluster counts as up when every node answers
// /readyz and lists N alive members. Processes are stopped by PID only:
// SIGTERM, then SIGKILL after a deadline.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"syscall"
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
	// LogDir receives one log file per process. Default: a new temporary
	// directory.
	LogDir string
	// StartWithin bounds the wait for the cluster to come up. Default 30s.
	StartWithin time.Duration
	// StopWithin bounds a graceful stop before SIGKILL. Default 5s.
	StopWithin time.Duration
}

// Proc is one agent process (internal/agentproc) and its log file.
type Proc struct {
	*agentproc.Proc
	LogPath string
}

// LocalCluster is a running local cluster. It is safe for concurrent use.
type LocalCluster struct {
	cfg    LocalConfig
	client *Client

	mu    sync.Mutex // guards procs, all
	procs []*Proc    // current process per slot
	all   []*Proc    // every process ever started, for Stop
}

// StartLocal starts cfg.Nodes agents and waits until they form a ready
// cluster. On error it stops whatever it started.
func StartLocal(ctx context.Context, cfg LocalConfig) (*LocalCluster, error) {
	if cfg.Nodes < 1 {
		return nil, fmt.Errorf("bench: local: need at least 1 node, not %d", cfg.Nodes)
	}
	if cfg.Binary == "" {
		return nil, errors.New("bench: local: no roster binary")
	}
	if cfg.GossipProfile == "" {
		cfg.GossipProfile = "lan"
	}
	if cfg.StartWithin <= 0 {
		cfg.StartWithin = 30 * time.Second
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
	lc := &LocalCluster{cfg: cfg, client: &Client{HTTP: NewHTTPClient(4, 3*time.Second)}, procs: make([]*Proc, cfg.Nodes)}
	for i := range cfg.Nodes {
		if _, err := lc.launch(ctx, i); err != nil {
			lc.Stop()
			return nil, err
		}
	}
	if err := lc.WaitReady(ctx, cfg.StartWithin); err != nil {
		lc.Stop()
		return nil, err
	}
	return lc, nil
}

// Procs returns the current processes.
func (lc *LocalCluster) Procs() []*Proc {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	return append([]*Proc(nil), lc.procs...)
}

// Addrs returns the base URLs of the current processes.
func (lc *LocalCluster) Addrs() []string {
	var out []string
	for _, p := range lc.Procs() {
		out = append(out, p.URL())
	}
	return out
}

// LogDir is where the agents' logs are.
func (lc *LocalCluster) LogDir() string { return lc.cfg.LogDir }

// launch starts the agent of slot i, joining every other live slot, and
// waits until it serves /healthz. A port taken between picking and binding
// is retried with new ports.
func (lc *LocalCluster) launch(ctx context.Context, i int) (*Proc, error) {
	var join []string
	for j, p := range lc.Procs() {
		if j != i && p != nil && !p.Exited() {
			join = append(join, p.Gossip)
		}
	}
	name := fmt.Sprintf("bench%d", i+1)
	logPath := filepath.Join(lc.cfg.LogDir, fmt.Sprintf("%s-%d.log", name, time.Now().UnixNano()))
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("bench: local: %w", err)
	}
	ap, err := agentproc.Start(ctx, agentproc.Spec{Bin: lc.cfg.Binary, Name: name, Join: join, Log: logf,
		// No per-namespace instance limit: every mode writes to the one
		// bench namespace, and `bench all --full` holds 200,000 at once.
		Args: []string{"--gossip-profile", lc.cfg.GossipProfile, "--log-level", "warn", "--max-instances-per-namespace", "0"}})
	if err != nil {
		logf.Close()
		return nil, fmt.Errorf("bench: local: %w (log %s)", err, logPath)
	}
	go func() { <-ap.Done(); logf.Close() }() // the output is copied until the exit
	p := &Proc{Proc: ap, LogPath: logPath}
	lc.mu.Lock()
	lc.procs[i] = p
	lc.all = append(lc.all, p)
	lc.mu.Unlock()
	return p, nil
}

// WaitReady waits until every current process answers /readyz and lists
// every process as an alive member.
func (lc *LocalCluster) WaitReady(ctx context.Context, within time.Duration) error {
	procs := lc.Procs()
	_, err := poll(ctx, 20*time.Millisecond, within, func() bool {
		for _, p := range procs {
			if _, _, err := lc.client.Do(ctx, http.MethodGet, p.URL()+"/readyz", "", "", false); err != nil {
				return false
			}
			ms, err := lc.client.members(ctx, p.URL())
			if err != nil {
				return false
			}
			alive := 0
			for _, m := range ms {
				if m.State == "alive" {
					alive++
				}
			}
			if alive != len(procs) {
				return false
			}
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("bench: local: cluster of %d not ready within %v: %w (logs in %s)", len(procs), within, err, lc.cfg.LogDir)
	}
	return nil
}

// Kill SIGKILLs the process of slot i and waits until it is gone.
func (lc *LocalCluster) Kill(i int) (*Proc, error) {
	p := lc.Procs()[i]
	p.Signal(syscall.SIGKILL)
	select {
	case <-p.Done():
		return p, nil
	case <-time.After(5 * time.Second):
		return p, fmt.Errorf("bench: local: %s (pid %d) did not die", p.Name, p.PID())
	}
}

// Restart starts a new process in slot i (same name, new ports) and waits
// until the whole cluster is ready again.
func (lc *LocalCluster) Restart(ctx context.Context, i int) error {
	if _, err := lc.launch(ctx, i); err != nil {
		return err
	}
	return lc.WaitReady(ctx, lc.cfg.StartWithin)
}

// Stop stops every process it started: SIGTERM, then SIGKILL after
// StopWithin. It is safe to call more than once.
func (lc *LocalCluster) Stop() {
	lc.mu.Lock()
	all := append([]*Proc(nil), lc.all...)
	lc.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range all {
		wg.Add(1)
		go func() { defer wg.Done(); p.Stop(syscall.SIGTERM, lc.cfg.StopWithin) }()
	}
	wg.Wait()
}
