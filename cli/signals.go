package cli

// Signal handling for the agent, in the manner of serf's agent: the first
// SIGINT/SIGTERM starts a graceful shutdown bounded by a timeout; a second
// signal while it runs exits the process at once.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"
)

// errForcedExit is returned when a second signal cut the shutdown short and
// the exit hook returned (it only does in tests).
var errForcedExit = errors.New("second signal: exited before shutdown finished")

// signalHandler waits for the signal that stops the agent.
type signalHandler struct {
	signals <-chan os.Signal
	exit    func(code int) // os.Exit in production
	timeout time.Duration  // bound on the graceful shutdown
	log     *slog.Logger
}

// wait blocks until a signal arrives or ctx ends, then runs shutdown with a
// context bounded by h.timeout. A second signal during shutdown calls
// h.exit(1) without waiting for shutdown to finish.
func (h signalHandler) wait(ctx context.Context, shutdown func(context.Context) error) error {
	select {
	case sig := <-h.signals:
		h.log.Info("shutting down; signal again to exit at once", "signal", sig.String(), "timeout", h.timeout)
	case <-ctx.Done():
		h.log.Info("shutting down", "reason", context.Cause(ctx), "timeout", h.timeout)
	}

	// The shutdown deadline must not inherit a cancellation that stopped us.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- shutdown(sctx) }()

	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("shutdown: %w", err)
		}
		return nil
	case sig := <-h.signals:
		h.log.Warn("second signal, exiting now", "signal", sig.String())
		h.exit(1)
		return errForcedExit
	}
}
