package cli

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"syscall"
	"testing"
	"time"
)

// testDeadline bounds every wait in these tests.
const testDeadline = 10 * time.Second

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// waitFor receives from ch or fails the test at the deadline.
func waitFor[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(testDeadline):
		t.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}

func TestSignalHandler_firstSignalShutsDown(t *testing.T) {
	sigs := make(chan os.Signal, 2)
	h := signalHandler{signals: sigs, timeout: time.Minute, log: discardLogger(),
		exit: func(code int) { t.Errorf("exit(%d) called, want no exit", code) }}
	sigs <- syscall.SIGTERM
	var hadDeadline bool
	err := h.wait(context.Background(), func(ctx context.Context) error {
		_, hadDeadline = ctx.Deadline()
		return nil
	})
	if err != nil {
		t.Errorf("got %v, want nil", err)
	}
	if !hadDeadline {
		t.Errorf("got shutdown context without deadline, want one")
	}
}

func TestSignalHandler_secondSignalExits(t *testing.T) {
	sigs := make(chan os.Signal, 2)
	exited := make(chan int, 1)
	h := signalHandler{signals: sigs, timeout: time.Minute, log: discardLogger(),
		exit: func(code int) { exited <- code }}
	called := make(chan struct{})
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })

	errc := make(chan error, 1)
	go func() {
		errc <- h.wait(context.Background(), func(context.Context) error {
			close(called)
			<-release // a shutdown that hangs
			return nil
		})
	}()
	sigs <- syscall.SIGINT
	waitFor(t, called, "shutdown to start")
	sigs <- syscall.SIGINT
	if code := waitFor(t, exited, "exit"); code != 1 {
		t.Errorf("got exit code %d, want 1", code)
	}
	if err := waitFor(t, errc, "wait to return"); !errors.Is(err, errForcedExit) {
		t.Errorf("got %v, want %v", err, errForcedExit)
	}
}

func TestSignalHandler_shutdownTimeout(t *testing.T) {
	sigs := make(chan os.Signal, 1)
	h := signalHandler{signals: sigs, timeout: 20 * time.Millisecond, log: discardLogger(),
		exit: func(code int) { t.Errorf("exit(%d) called, want no exit", code) }}
	sigs <- syscall.SIGTERM
	err := h.wait(context.Background(), func(ctx context.Context) error {
		<-ctx.Done() // a shutdown that only ends at its deadline
		return ctx.Err()
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want %v", err, context.DeadlineExceeded)
	}
}

func TestSignalHandler_contextCancelShutsDown(t *testing.T) {
	h := signalHandler{signals: make(chan os.Signal), timeout: time.Minute, log: discardLogger(),
		exit: func(code int) { t.Errorf("exit(%d) called, want no exit", code) }}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var shutdownErr error
	err := h.wait(ctx, func(sctx context.Context) error {
		shutdownErr = sctx.Err()
		return nil
	})
	if err != nil {
		t.Errorf("got %v, want nil", err)
	}
	if shutdownErr != nil {
		t.Errorf("got shutdown context error %v, want a live context", shutdownErr)
	}
}
