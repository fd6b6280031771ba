package gossip

import (
	"bytes"
	"context"
	"io"
	"log"
	"log/slog"
)

var _ io.Writer = (*logWriter)(nil)

// logWriter turns memberlist's log lines ("[WARN] memberlist: text") into
// debug records of a slog.Logger, with memberlist's level as an attribute.
// memberlist logs routine events such as failed pings to a dead node as
// errors, so everything goes to debug; this package logs what matters at
// higher levels itself.
type logWriter struct {
	logger *slog.Logger
	counts *trafficCounts // suspicions raised and refuted
}

// newMemberlistLogger returns a *log.Logger for memberlist.Config.Logger.
func newMemberlistLogger(logger *slog.Logger, counts *trafficCounts) *log.Logger {
	return log.New(&logWriter{logger: logger, counts: counts}, "", 0)
}

// memberlist reports a suspicion it raises and one it refutes only in
// these log lines (its go-metrics counters are process-wide).
var (
	suspectLine = []byte("has failed, no acks received")
	refuteLine  = []byte("Refuting a suspect message")
)

func (w *logWriter) Write(p []byte) (int, error) {
	if w.counts != nil {
		switch {
		case bytes.Contains(p, suspectLine):
			w.counts.suspicions.Add(1)
		case bytes.Contains(p, refuteLine):
			w.counts.refutations.Add(1)
		}
	}
	if !w.logger.Enabled(context.Background(), slog.LevelDebug) {
		return len(p), nil
	}
	line := bytes.TrimRight(p, "\r\n")
	level := ""
	if len(line) > 0 && line[0] == '[' {
		if end := bytes.IndexByte(line, ']'); end > 0 {
			level = string(line[1:end])
			line = bytes.TrimLeft(line[end+1:], " ")
		}
	}
	line = bytes.TrimPrefix(line, []byte("memberlist: "))
	w.logger.Debug(string(line), "component", "memberlist", "ml_level", level)
	return len(p), nil
}
