package chaos

import (
	"context"
	"os"
	"testing"
	"time"
)

// TestRun_client runs one short real scenario. It starts processes, so it
// runs only with ROSTER_CHAOS=1; the full suite is `go run ./chaos/cmd/chaos`.
func TestRun_client(t *testing.T) {
	if os.Getenv("ROSTER_CHAOS") != "1" {
		t.Skip("set ROSTER_CHAOS=1 to run a real cluster")
	}
	bin, err := Build(context.Background(), "..", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := Run(context.Background(), "client", Config{Bin: bin, Seed: 1, Nodes: 3, Instances: 20, Duration: 8 * time.Second})
	for _, v := range s.Result.Violations {
		t.Error(v)
	}
}
