package agent_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/agent/agenttest"
	"github.com/roster-io/roster/internal/await"
)

// lockedBuf is a bytes.Buffer safe for a logger and a test to share.
type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), s)
}

// TestLogging_failedSyncIsNotAFlood: a node that cannot pull the registry
// from its ready peer retries every SyncRetry (20 ms here); the warning
// says so once and then at most every few seconds with a count, instead
// of once per attempt.
func TestLogging_failedSyncIsNotAFlood(t *testing.T) {
	tc := agenttest.NewCluster(t, 1)
	var logs lockedBuf
	tc.Start("n1", func(c *agent.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
		c.AllowPeer = func(to string) bool { return to != "n0" } // internal requests to n0 fail
	})
	await.True(t, 5*time.Second, "the first warning", func() bool { return logs.count("sync from peer failed") >= 1 })
	time.Sleep(time.Second) // about 50 more failed attempts
	if n := logs.count("sync from peer failed"); n > 2 {
		t.Fatalf("%d warnings in about a second of failed syncs, want at most 2", n)
	}
}
