package agentproc

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// Build compiles the roster command of the module at repoRoot into
// dir/roster, with the given build tags (the chaos suite's deliberately
// broken build uses chaosbroken), and returns the binary's path. It is the
// tree's one `go build` of roster.
func Build(ctx context.Context, repoRoot, dir string, tags ...string) (string, error) {
	bin, err := filepath.Abs(filepath.Join(dir, "roster"))
	if err != nil {
		return "", fmt.Errorf("agentproc: build: %w", err)
	}
	args := []string{"build", "-o", bin}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	cmd := exec.CommandContext(ctx, "go", append(args, ".")...)
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("agentproc: go build in %s: %w\n%s", repoRoot, err, out)
	}
	return bin, nil
}

// built holds what Binary built in this process.
var built struct {
	mu   sync.Mutex // guards dir and bins; held through a build
	dir  string
	bins map[string]result
}

type result struct {
	path string
	err  error
}

// Binary returns a roster binary for the tests of this process, built
// from the module at repoRoot at most once per set of tags (a failed build
// is not tried again) into a temporary directory that RemoveBinaries
// deletes. Without tags, $ROSTER_BIN, when set, names a prebuilt binary
// to use instead.
func Binary(ctx context.Context, repoRoot string, tags ...string) (string, error) {
	if bin := os.Getenv("ROSTER_BIN"); bin != "" && len(tags) == 0 {
		return bin, nil
	}
	key := strings.Join(tags, ",")
	built.mu.Lock()
	defer built.mu.Unlock()
	if r, ok := built.bins[key]; ok {
		return r.path, r.err
	}
	if built.dir == "" {
		dir, err := os.MkdirTemp("", "roster-bin-")
		if err != nil {
			return "", fmt.Errorf("agentproc: %w", err)
		}
		built.dir, built.bins = dir, map[string]result{}
	}
	sub := filepath.Join(built.dir, fmt.Sprintf("b%d", len(built.bins)))
	var r result
	if r.err = os.MkdirAll(sub, 0o755); r.err == nil {
		r.path, r.err = Build(ctx, repoRoot, sub, tags...)
	}
	built.bins[key] = r
	return r.path, r.err
}

// RemoveBinaries deletes every binary Binary built; TestMain calls it once
// the tests are over.
func RemoveBinaries() {
	built.mu.Lock()
	defer built.mu.Unlock()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	built.dir, built.bins = "", nil
}
