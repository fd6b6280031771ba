package cli

// The sidecar behind `roster run`. It keeps a program's instance in the
// registry for exactly as long as the program can serve:
//
//   - it registers only once the port accepts TCP connections (or the
//     health URL answers 2xx), never before;
//   - while the program runs the client beats; a health URL that fails
//     healthFailures times in a row disables (or deregisters) the instance
//     until it answers again;
//   - on SIGTERM/SIGINT it deregisters first and waits until every node
//     dropped the instance (at most drain), then forwards the signal,
//     waits for the program (at most killTimeout, then SIGKILL) and exits
//     with its code; a second signal skips the wait;
//   - a program that exits on its own is deregistered at once.
//
// If the sidecar itself is SIGKILLed nothing can be said: the instance
// expires after its beat timeout, as any silent instance does.

import (
	"context"
	"log/slog"
	"os"
	"syscall"
	"time"

	"github.com/roster-io/roster/client"
)

// process is the supervised program.
type process interface {
	Signal(os.Signal) error
	Kill() error
	// Done is closed when the program has exited.
	Done() <-chan struct{}
	// ExitCode is the exit code once Done is closed: the program's, or
	// 128+N when signal N killed it.
	ExitCode() int
}

// sidecar runs one program's life in the registry.
type sidecar struct {
	client         *client.Client
	reg            client.Registration
	child          process
	signals        <-chan os.Signal
	ready          func(context.Context) bool // the port accepts, or the health URL answers 2xx
	health         func(context.Context) bool // nil without --health-url
	readyEvery     time.Duration              // probe interval until ready
	healthEvery    time.Duration
	healthFailures int  // failures in a row that take the instance out
	deregister     bool // take it out by deregistering instead of disabling
	drain          time.Duration
	killTimeout    time.Duration
	log            *slog.Logger
}

// run supervises the program until it exits and returns its exit code.
func (s *sidecar) run(ctx context.Context) int {
	if sig, ok := s.waitReady(ctx); !ok {
		if sig != nil {
			s.log.Info("signal before the program was ready; not registered", "signal", sig.String())
			return s.stopChild(sig)
		}
		s.log.Info("program exited before it was ready; never registered", "code", s.child.ExitCode())
		return s.child.ExitCode()
	}
	if sig, ok := s.register(ctx); !ok {
		if sig != nil {
			return s.stopChild(sig)
		}
		return s.child.ExitCode()
	}
	return s.serve(ctx)
}

// waitReady probes until the program is ready (true), or it exits or a
// signal comes first (false, with the signal if one came).
func (s *sidecar) waitReady(ctx context.Context) (os.Signal, bool) {
	t := time.NewTicker(s.readyEvery)
	defer t.Stop()
	for {
		if s.probe(ctx, s.ready) {
			s.log.Info("program ready", "ip", s.reg.IP, "port", s.reg.Port)
			return nil, true
		}
		select {
		case <-s.child.Done():
			return nil, false
		case sig := <-s.signals:
			return sig, false
		case <-ctx.Done():
			return syscall.SIGTERM, false
		case <-t.C:
		}
	}
}

// probe runs one bounded check.
func (s *sidecar) probe(ctx context.Context, check func(context.Context) bool) bool {
	pctx, cancel := context.WithTimeout(ctx, max(s.readyEvery, time.Second))
	defer cancel()
	return check(pctx)
}

// register registers the instance, retrying while every node fails,
// until the program exits or a signal comes.
func (s *sidecar) register(ctx context.Context) (os.Signal, bool) {
	for {
		in, err := s.client.Register(ctx, s.reg)
		if err == nil {
			s.log.Info("registered", "service", s.reg.Name, "instance", in.InstanceID, "beat interval", in.BeatInterval)
			return nil, true
		}
		s.log.Error("register failed; retrying", "err", err)
		select {
		case <-s.child.Done():
			return nil, false
		case sig := <-s.signals:
			return sig, false
		case <-ctx.Done():
			return syscall.SIGTERM, false
		case <-time.After(time.Second):
		}
	}
}

// serve beats (the client does) and checks health until the program exits
// or a signal comes.
func (s *sidecar) serve(ctx context.Context) int {
	var tick <-chan time.Time
	if s.health != nil {
		t := time.NewTicker(s.healthEvery)
		defer t.Stop()
		tick = t.C
	}
	failures := 0
	out := false // taken out of service by failing health checks
	for {
		select {
		case <-s.child.Done():
			code := s.child.ExitCode()
			s.log.Info("program exited; deregistering", "code", code)
			s.leave(ctx, false)
			return code
		case sig := <-s.signals:
			return s.shutdown(ctx, sig)
		case <-ctx.Done():
			return s.shutdown(ctx, syscall.SIGTERM)
		case <-tick:
			if s.probe(ctx, s.health) {
				failures = 0
				if out {
					out = !s.setInService(ctx, true)
				}
				continue
			}
			failures++
			if failures >= s.healthFailures && !out {
				out = s.setInService(ctx, false)
			}
		}
	}
}

// setInService puts the instance back (true) or takes it out; it reports
// whether that worked.
func (s *sidecar) setInService(ctx context.Context, in bool) bool {
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var err error
	switch {
	case s.deregister && in:
		_, err = s.client.Register(wctx, s.reg)
	case s.deregister:
		err = s.client.Deregister(wctx, s.reg.InstanceKey)
	default:
		err = s.client.SetEnabled(wctx, s.reg.InstanceKey, in)
	}
	if err != nil {
		s.log.Error("health change not recorded", "in service", in, "err", err)
		return false
	}
	if in {
		s.log.Info("health check passes again; instance back in service")
	} else {
		s.log.Warn("health check failing; instance taken out of service",
			"failures", s.healthFailures, "deregistered", s.deregister)
	}
	return true
}

// shutdown takes the instance offline, then stops the program.
func (s *sidecar) shutdown(ctx context.Context, sig os.Signal) int {
	s.log.Info("signal: deregistering before stopping the program; signal again to skip the wait",
		"signal", sig.String(), "drain", s.drain)
	s.leave(ctx, true)
	return s.stopChild(sig)
}

// leave deregisters the instance and, if wait, waits until every node
// dropped it, at most the drain time; a signal or the program's exit cuts
// the wait short.
func (s *sidecar) leave(ctx context.Context, wait bool) {
	start := time.Now()
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.drain)
	defer cancel()
	if wait {
		go func() {
			select {
			case sig := <-s.signals:
				s.log.Warn("second signal: not waiting for the deregistration", "signal", sig.String())
			case <-s.child.Done():
			case <-dctx.Done():
			}
			cancel()
		}()
	}
	if err := s.client.Deregister(dctx, s.reg.InstanceKey); err != nil {
		s.log.Error("deregister failed; the instance will expire on its timeout", "err", err)
		return
	}
	if !wait {
		s.log.Info("deregistered", "took", time.Since(start).Round(time.Millisecond))
		return
	}
	if err := s.client.WaitGone(dctx, s.reg.InstanceKey); err != nil {
		s.log.Warn("not confirmed gone from every node", "after", time.Since(start).Round(time.Millisecond), "err", err)
		return
	}
	s.log.Info("deregistered and gone from every node", "took", time.Since(start).Round(time.Millisecond))
}

// stopChild forwards sig to the program and waits for it, killing it after
// killTimeout; it returns the program's exit code.
func (s *sidecar) stopChild(sig os.Signal) int {
	select {
	case <-s.child.Done():
		return s.child.ExitCode()
	default:
	}
	if err := s.child.Signal(sig); err != nil {
		s.log.Warn("forwarding the signal failed", "err", err)
	}
	t := time.NewTimer(s.killTimeout)
	defer t.Stop()
	select {
	case <-s.child.Done():
	case <-t.C:
		s.log.Warn("program still running; killing it", "after", s.killTimeout)
		_ = s.child.Kill()
		<-s.child.Done()
	}
	code := s.child.ExitCode()
	s.log.Info("program stopped", "code", code)
	return code
}
