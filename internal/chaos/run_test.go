package chaos

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/roster-io/roster/internal/agentproc"
)

// The short chaos suite: `go test ./internal/chaos/` (and so `make test`) builds
// roster twice, normally and with -tags chaosbroken, and runs the owner
// scenario against each on a 3-node cluster with hostile clients. The
// normal build must pass with zero violations; the broken one (no fresh
// timeout for a new owner) must fail with a readable history excerpt.
// -short or ROSTER_CHAOS=0 skips them; `make chaos` is the full suite.

// bin builds roster with tags, once per test binary (agentproc.Binary),
// or skips the test.
func bin(t *testing.T, tags ...string) string {
	t.Helper()
	if testing.Short() || os.Getenv("ROSTER_CHAOS") == "0" {
		t.Skip("chaos: skipped (-short or ROSTER_CHAOS=0)")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("chaos: no go command to build roster")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	path, err := agentproc.Binary(ctx, "../..", tags...)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func TestMain(m *testing.M) {
	code := m.Run()
	agentproc.RemoveBinaries()
	os.Exit(code)
}

func shortConfig(bin string, seed uint64) Config {
	return Config{Bin: bin, Seed: seed, Nodes: 3, Instances: 30, Duration: 10 * time.Second,
		Hostile: true, IdleConns: 300}
}

func TestShort_ownerKillPasses(t *testing.T) {
	good := bin(t)
	seed := uint64(time.Now().UnixNano() % 1_000_000)
	var log strings.Builder
	cfg := shortConfig(good, seed)
	cfg.Duration = 14 * time.Second // a kill mid-expiry, then one right after a write
	cfg.Intruders = true
	cfg.Log = &log
	s := Run(context.Background(), "owner", cfg)
	WriteTable(&log, []Summary{s})
	t.Logf("seed %d:\n%s", seed, log.String())
	if s.Skipped != "" {
		t.Fatalf("skipped: %s", s.Skipped)
	}
	if s.Faults == 0 || s.Acked == 0 || s.Result.Checked == 0 {
		t.Errorf("got %d faults, %d acknowledged writes, %d checked polls; want each > 0", s.Faults, s.Acked, s.Result.Checked)
	}
	if s.Hostile == 0 {
		t.Error("got no hostile requests, want the hostile clients to have run")
	}
	if i, r := s.Intruders, s.Result.Intruders; i.Reads == 0 || r.RSSProcs == 0 || r.ForgedRefused == 0 || r.OutsiderProbes == 0 || r.MemberPolls == 0 {
		t.Errorf("intruders: got %d amplifying reads, %d processes' memory read, %d forged records refused, %d outsider probes, %d member lists; want each > 0",
			i.Reads, r.RSSProcs, r.ForgedRefused, r.OutsiderProbes, r.MemberPolls)
	}
	if r := s.Result.Intruders; r.ACLRefused == 0 || r.ACLChanges != 0 {
		t.Errorf("ACL prober: %d bad-token requests, %d refused, %d changes; want some refused and no change (%s)", r.ACLAttempts, r.ACLRefused, r.ACLChanges, s.Intruders.ACL)
	}
	for _, v := range s.Result.Violations {
		t.Errorf("seed %d (replay: go run ./internal/chaos/cmd/chaos --seed %d --scenario owner --nodes 3 --instances 30 --duration 14s --idle 300 --intruders): %s",
			seed, seed, v)
	}
}

func TestShort_brokenBuildIsCaught(t *testing.T) {
	broken := bin(t, "chaosbroken")
	seed := uint64(time.Now().UnixNano() % 1_000_000)
	cfg := shortConfig(broken, seed)
	cfg.Duration = 8 * time.Second // one owner kill mid-expiry is enough
	s := Run(context.Background(), "owner", cfg)
	if len(s.Result.Violations) == 0 {
		t.Fatalf("seed %d: the chaosbroken build (no fresh timeout for a new owner) passed; want expiry violations", seed)
	}
	// The victim silenced mid-expiry shows its owner's SIGKILL in its
	// excerpt (instances the stream silenced may have lost their owner
	// earlier).
	var text string
	for _, v := range s.Result.Violations {
		if strings.HasPrefix(v.Invariant, "expiry") && strings.Contains(v.String(), "SIGKILL") {
			text = v.String()
			break
		}
	}
	if text == "" {
		t.Errorf("got %d violations, none an expiry whose excerpt shows the owner's SIGKILL; first:\n%s",
			len(s.Result.Violations), s.Result.Violations[0])
	}
	t.Logf("seed %d: broken build caught, %d violations; first:\n%s", seed, len(s.Result.Violations), text)
}

// TestShort_crashloopPasses kills and restarts a node every 3 to 5 s while
// some instances fall silent, and holds their removal to the delete
// timeout from their last beat, however often their owner changed.
func TestShort_crashloopPasses(t *testing.T) {
	good := bin(t)
	seed := uint64(time.Now().UnixNano() % 1_000_000)
	var log strings.Builder
	cfg := shortConfig(good, seed)
	cfg.Instances = 60
	cfg.Duration = 12 * time.Second
	cfg.Log = &log
	s := Run(context.Background(), "crashloop", cfg)
	WriteTable(&log, []Summary{s})
	t.Logf("seed %d:\n%s", seed, log.String())
	if s.Faults == 0 || s.Result.Removals == 0 {
		t.Errorf("got %d faults and %d silent instances seen removed; want each > 0", s.Faults, s.Result.Removals)
	}
	for _, v := range s.Result.Violations {
		t.Errorf("seed %d (replay: go run ./internal/chaos/cmd/chaos --seed %d --scenario crashloop --nodes 3 --instances 60 --duration 12s --idle 300): %s",
			seed, seed, v)
	}
}
