package client

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// GracefulConfig configures Graceful.
type GracefulConfig struct {
	// Signals start the shutdown. Default SIGTERM and SIGINT.
	Signals []os.Signal
	// Drain is how long the program keeps serving after its instances
	// were deregistered: Graceful first waits (within Drain) until every
	// node dropped them, then the rest of Drain, so callers that cached
	// the old list stop sending and requests in flight finish. Default 5s.
	Drain time.Duration
	// OnShutdown, if set, runs after the drain, for example an
	// http.Server's Shutdown, with a context bounded by ShutdownTimeout.
	OnShutdown func(context.Context) error
	// ShutdownTimeout bounds OnShutdown. Default 10s.
	ShutdownTimeout time.Duration
}

// Graceful blocks until one of gc.Signals arrives or ctx ends, then takes
// the program offline in the right order: it stops the heartbeats and
// deregisters every instance of c, waits gc.Drain while the program still
// serves (first until every node dropped the instances), runs
// gc.OnShutdown, and closes c. When it returns the program may exit.
func (c *Client) Graceful(ctx context.Context, gc GracefulConfig) error {
	sigs := gc.Signals
	if len(sigs) == 0 {
		sigs = []os.Signal{syscall.SIGTERM, os.Interrupt}
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, sigs...)
	defer signal.Stop(ch)
	return c.graceful(ctx, ch, gc)
}

// graceful is Graceful with the signal channel handed in.
func (c *Client) graceful(ctx context.Context, sigs <-chan os.Signal, gc GracefulConfig) error {
	if gc.Drain == 0 {
		gc.Drain = 5 * time.Second
	}
	if gc.ShutdownTimeout == 0 {
		gc.ShutdownTimeout = 10 * time.Second
	}
	select {
	case sig := <-sigs:
		c.log.Info("going offline", "signal", sig.String(), "drain", gc.Drain)
	case <-ctx.Done():
		c.log.Info("going offline", "reason", context.Cause(ctx), "drain", gc.Drain)
	}
	base := context.WithoutCancel(ctx)
	drainCtx, cancel := context.WithTimeout(base, gc.Drain)
	defer cancel()
	keys := c.Registered()
	errDereg := c.DeregisterAll(drainCtx)
	if err := c.WaitGone(drainCtx, keys...); err != nil && drainCtx.Err() == nil {
		c.log.Warn("could not confirm that every node dropped the instances", "err", err)
	}
	<-drainCtx.Done()
	var errShutdown error
	if gc.OnShutdown != nil {
		sctx, cancel := context.WithTimeout(base, gc.ShutdownTimeout)
		errShutdown = gc.OnShutdown(sctx)
		cancel()
	}
	closeCtx, cancelClose := context.WithTimeout(base, c.cfg.RequestTimeout)
	defer cancelClose()
	return errors.Join(errDereg, errShutdown, c.Close(closeCtx))
}
