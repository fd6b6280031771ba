package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/store"
)

// TestSnapshot_saveThenRestoreIntoAFreshNode saves a node's persistent
// instances and services with `roster snapshot save`, refuses a truncated
// copy, and restores the file into a fresh node, which then holds them.
func TestSnapshot_saveThenRestoreIntoAFreshNode(t *testing.T) {
	clearRosterEnv(t)
	solo := func(c *agent.Config) { c.GossipAddr = "" }
	src := agenttest.Start(t, solo)
	ctx := context.Background()
	k := store.Key{Namespace: "public", Group: "DEFAULT_GROUP", Service: "backup"}
	for _, ip := range []string{"10.3.0.1", "10.3.0.2"} {
		if _, err := src.Node().Register(ctx, k, store.Instance{InstanceKey: store.InstanceKey{IP: ip, Port: 80}, Weight: 1, Healthy: true, Enabled: true}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := src.Node().Register(ctx, k, store.Instance{InstanceKey: store.InstanceKey{IP: "10.3.0.9", Port: 80}, Weight: 1, Healthy: true, Enabled: true, Ephemeral: true}); err != nil {
		t.Fatal(err)
	}
	if err := src.Node().UpdateService(ctx, k, func(s *store.ServiceInfo) { s.ProtectThreshold = 0.7 }); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "roster.snap")
	if res := runCLI(t, "snapshot", "save", "--addr", agenttest.URL(src), file); res.code != 0 || !strings.Contains(res.out, "saved 3 records") {
		t.Fatalf("save: %d %s %s", res.code, res.out, res.errOut)
	}

	dst := agenttest.Start(t, solo)
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	cut := file + ".cut"
	if err := os.WriteFile(cut, b[:len(b)-7], 0o600); err != nil {
		t.Fatal(err)
	}
	if res := runCLI(t, "snapshot", "restore", "--addr", agenttest.URL(dst), cut); res.code == 0 || !strings.Contains(res.errOut, "truncated or damaged") {
		t.Fatalf("restore of a truncated file: %d %s %s", res.code, res.out, res.errOut)
	}
	if n := len(dst.Node().Snapshot(k).Instances); n != 0 {
		t.Fatalf("a refused restore left %d instances", n)
	}
	if res := runCLI(t, "snapshot", "restore", "--addr", agenttest.URL(dst), file); res.code != 0 || !strings.Contains(res.out, "3 records, 3 newer") {
		t.Fatalf("restore: %d %s %s", res.code, res.out, res.errOut)
	}
	snap := dst.Node().Snapshot(k)
	if len(snap.Instances) != 2 || snap.Info.ProtectThreshold != 0.7 {
		t.Fatalf("after restore: %d instances, protect threshold %v; want the 2 persistent ones and 0.7", len(snap.Instances), snap.Info.ProtectThreshold)
	}
	// A second restore changes nothing: nothing in it is newer.
	if res := runCLI(t, "snapshot", "restore", "--addr", agenttest.URL(dst), file); res.code != 0 || !strings.Contains(res.out, "0 newer") {
		t.Fatalf("second restore: %d %s %s", res.code, res.out, res.errOut)
	}
}
