package chaos

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestShort_blackoutPasses SIGKILLs a whole 3-node cluster at once while
// persistent writes, deletions and settings changes are acknowledged,
// twice, and holds every node after each restart to every acknowledged
// write.
func TestShort_blackoutPasses(t *testing.T) {
	good := bin(t)
	seed := uint64(time.Now().UnixNano() % 1_000_000)
	var log strings.Builder
	cfg := shortConfig(good, seed)
	cfg.Instances = 100
	cfg.Duration = 5 * time.Second
	cfg.Log = &log
	s := Run(context.Background(), "blackout", cfg)
	WriteTable(&log, []Summary{s})
	t.Logf("seed %d:\n%s", seed, log.String())
	if s.Faults < 3 || s.Acked < 50 || s.Result.Checked < 3 {
		t.Errorf("got %d nodes killed, %d acknowledged writes, %d node checks; want at least 3, 50, 3", s.Faults, s.Acked, s.Result.Checked)
	}
	for _, v := range s.Result.Violations {
		t.Errorf("seed %d (replay: go run ./internal/chaos/cmd/chaos --seed %d --scenario blackout --nodes 3 --instances 100 --duration 5s): %s",
			seed, seed, v)
	}
}

// TestShort_checkownerPasses runs server-side health checks while the
// owner that checks them is SIGKILLed (and later restarted): the
// instances' ports open and close, and every node shows each instance's
// true health within failure detection plus the checks' settle bound of
// each flip and owner change.
func TestShort_checkownerPasses(t *testing.T) {
	good := bin(t)
	seed := uint64(time.Now().UnixNano() % 1_000_000)
	var log strings.Builder
	cfg := shortConfig(good, seed)
	cfg.Instances = 120 // 12 checked ports
	cfg.Duration = 15 * time.Second
	cfg.Log = &log
	s := Run(context.Background(), "checkowner", cfg)
	WriteTable(&log, []Summary{s})
	t.Logf("seed %d:\n%s", seed, log.String())
	if s.Faults < 1 || s.Result.Checked < 1 {
		t.Errorf("got %d owners killed, %d checks of the nodes' views; want at least 1 and 1", s.Faults, s.Result.Checked)
	}
	for _, v := range s.Result.Violations {
		t.Errorf("seed %d (replay: go run ./internal/chaos/cmd/chaos --seed %d --scenario checkowner --nodes 3 --instances 120 --duration 15s): %s",
			seed, seed, v)
	}
}
