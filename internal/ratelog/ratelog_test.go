package ratelog

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	var l Limiter
	now := time.Unix(1_700_000_000, 0)
	for i := range 50 {
		l.Warn(log, now.Add(time.Duration(i)*100*time.Millisecond), "sync failed", "try", i)
	}
	l.Warn(log, now.Add(time.Hour), "other")
	l.Warn(log, now.Add(Every+time.Second), "sync failed")
	out := buf.String()
	if got := strings.Count(out, "sync failed"); got != 2 {
		t.Fatalf("%d lines of a repeated warning, want 2:\n%s", got, out)
	}
	if !strings.Contains(out, "repeated=49") || !strings.Contains(out, "msg=other") {
		t.Fatalf("want the count of the 49 left out and the other message:\n%s", out)
	}
}
