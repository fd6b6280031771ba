package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/internal/await"
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

// TestSnapshot_restoreIntoAFreshClusterReachesEveryNode saves a node's
// registry and restores it through one node of a fresh three-node
// cluster: every node then holds the persistent instances and the
// service's settings.
func TestSnapshot_restoreIntoAFreshClusterReachesEveryNode(t *testing.T) {
	clearRosterEnv(t)
	src := agenttest.Start(t, func(c *agent.Config) { c.GossipAddr = "" })
	ctx := context.Background()
	k := store.Key{Namespace: "public", Group: "DEFAULT_GROUP", Service: "backup"}
	for i := range 20 {
		in := store.Instance{InstanceKey: store.InstanceKey{IP: fmt.Sprintf("10.4.0.%d", i), Port: 80}, Weight: 1, Healthy: true, Enabled: true}
		if _, err := src.Node().Register(ctx, k, in); err != nil {
			t.Fatal(err)
		}
	}
	if err := src.Node().UpdateService(ctx, k, func(s *store.ServiceInfo) { s.ProtectThreshold = 0.4 }); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "roster.snap")
	if res := runCLI(t, "snapshot", "save", "--addr", agenttest.URL(src), file); res.code != 0 {
		t.Fatalf("save: %d %s %s", res.code, res.out, res.errOut)
	}
	c := agenttest.NewCluster(t, 3)
	if res := runCLI(t, "snapshot", "restore", "--addr", agenttest.URL(c.Agent("n2")), file); res.code != 0 {
		t.Fatalf("restore: %d %s %s", res.code, res.out, res.errOut)
	}
	await.True(t, 10*time.Second, "every node holds the restored registry", func() bool {
		for _, a := range c.Agents() {
			snap := a.Node().Snapshot(k)
			if len(snap.Instances) != 20 || snap.Info.ProtectThreshold != 0.4 {
				return false
			}
		}
		return true
	})
}
