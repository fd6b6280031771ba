package bench

// CPU profiles of one agent while a scale phase runs: the agent's
// /debug/pprof/profile (the agents run with --pprof) is fetched in
// back-to-back windows of profileChunk until the phase ends, each saved
// as DIR/cpu-N-PHASE-K.pb.gz; `go tool pprof` merges them.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roster-io/roster/internal/agentproc"
)

// profileChunk is one profile's window: short, so that the last window
// of a phase outlasts the phase by little.
const profileChunk = 10 * time.Second

// profilePhase profiles p until the returned stop is called; stop waits
// for the window in progress. With no directory set it does nothing.
func (s *scaleRun) profilePhase(ctx context.Context, p *agentproc.Proc, phase string) (stop func()) {
	if s.cfg.CPUProfileDir == "" || p == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		for k := 1; ctx.Err() == nil; k++ {
			path := filepath.Join(s.cfg.CPUProfileDir, fmt.Sprintf("cpu-%d-%s-%d.pb.gz", s.cfg.Nodes, phase, k))
			if err := fetchProfile(p.URL(), path); err != nil && ctx.Err() == nil {
				s.cfg.Progress("scale %d: cpu profile: %v", s.cfg.Nodes, err)
				return
			}
		}
	})
	return func() {
		cancel()
		wg.Wait()
	}
}

// fetchProfile saves one profileChunk window of base's CPU profile. The
// window runs to its end even when the phase has ended (the agent writes
// the profile only then), so the phase's last seconds are in it.
func fetchProfile(base, path string) error {
	req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", base, int(profileChunk.Seconds())), nil)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	c := &http.Client{Timeout: profileChunk + 30*time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("bench: cpu profile: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("bench: cpu profile: %s", resp.Status)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("bench: cpu profile: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("bench: cpu profile: %w", err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("bench: cpu profile: %w", err)
	}
	return nil
}

// registerProgress tells every 15 s how many of the beating instances
// are registered, until the returned stop is called.
func (s *scaleRun) registerProgress(ctx context.Context, registered []atomic.Bool) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(15 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			n := 0
			for i := range registered {
				if registered[i].Load() {
					n++
				}
			}
			s.cfg.Progress("scale %d: %d of %d registered", s.cfg.Nodes, n, len(registered))
		}
	})
	return func() {
		cancel()
		wg.Wait()
	}
}
