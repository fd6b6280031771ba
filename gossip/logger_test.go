package gossip

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestLogWriter(t *testing.T) {
	tests := []struct {
		name  string
		line  string
		level slog.Level
		want  []string // substrings of the output; nil means no output
	}{
		{"warn", "[WARN] memberlist: Refuting a suspect message (from: b)\n", slog.LevelDebug,
			[]string{"level=DEBUG", `msg="Refuting a suspect message (from: b)"`, "ml_level=WARN", "component=memberlist"}},
		{"no level", "Failed to shutdown transport\n", slog.LevelDebug,
			[]string{`msg="Failed to shutdown transport"`, "ml_level=\"\""}},
		{"filtered", "[ERR] memberlist: x\n", slog.LevelInfo, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: tt.level}))
			newMemberlistLogger(logger, nil).Print(tt.line)
			got := buf.String()
			if tt.want == nil && got != "" {
				t.Errorf("got %q, want no output", got)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("got %q, want it to contain %q", got, w)
				}
			}
		})
	}
}
