package chaos

// The scenarios' faults: kill and restart, rolling SIGKILLs, owner kills
// at the worst moments, churn, partitions, and the restore at the end.

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"time"
)

// maxDown is how many nodes may be down at once: never a majority.
func (r *run) maxDown() int { return max(1, (r.cfg.Nodes-1)/2) }

// killRestart SIGKILLs the named nodes at the same moment, waits pause,
// and restarts them under the same names, on the same addresses or
// (newPorts) new ones, waiting until all are ready.
func (r *run) killRestart(ctx context.Context, names []string, pause time.Duration, newPorts bool) error {
	type down struct{ name, http, gossip string }
	var killed []down
	for _, name := range names {
		p := r.c.Get(name)
		if p == nil {
			continue
		}
		if err := r.c.Stop(name, syscall.SIGKILL); err != nil {
			return err
		}
		killed = append(killed, down{name, p.HTTP, p.Gossip})
	}
	if len(killed) == 0 {
		return nil
	}
	r.logf("SIGKILL %s; restart in %v (new ports: %v)", strings.Join(names, " and "), pause.Round(time.Millisecond), newPorts)
	time.Sleep(pause)
	for _, d := range killed {
		httpAddr, gossipAddr := d.http, d.gossip
		if newPorts {
			httpAddr, gossipAddr = "", ""
		}
		_, err := r.c.Start(context.Background(), d.name, httpAddr, gossipAddr)
		if err != nil && httpAddr != "" && strings.Contains(err.Error(), "address already in use") {
			// Another process on the machine took the dead node's port
			// while it was down; come back on new ports, as a moved node
			// would.
			r.logf("%s: old address taken (%s); restarting on new ports", d.name, httpAddr)
			_, err = r.c.Start(context.Background(), d.name, "", "")
		}
		if err != nil {
			return err
		}
	}
	return r.c.WaitReady(context.Background(), 30*time.Second)
}

// rolling SIGKILLs a random node every few seconds and restarts it after a
// random pause; where the cluster has room for two down at once without
// losing its majority (five nodes and more), every third round kills two
// at the same moment.
func (r *run) rolling(ctx context.Context) error {
	for i := 0; i < 1000 && ctx.Err() == nil; i++ {
		if !sleepCtx(ctx, r.between(1500*time.Millisecond, 3500*time.Millisecond)) {
			return nil
		}
		live := r.c.Live()
		room := len(live) - (r.cfg.Nodes - r.maxDown())
		if room < 1 {
			continue
		}
		count := 1
		if room >= 2 && r.rng.IntN(3) == 0 {
			count = 2
		}
		var victims []string
		for _, k := range r.rng.Perm(len(live))[:count] {
			victims = append(victims, live[k].Name)
		}
		if err := r.killRestart(ctx, victims, r.between(500*time.Millisecond, 3*time.Second), r.rng.IntN(10) < 3); err != nil {
			return err
		}
	}
	return nil
}

// ownerOf asks a live node who owns service.
func (r *run) ownerOf(service string) string {
	for _, p := range r.c.Live() {
		if o, err := ownerAt(p, service); err == nil && o != "" {
			return o
		}
	}
	return ""
}

// ownerKill SIGKILLs a service's owner at the worst moments, in turn: in
// the middle of an instance's expiry, keeping it down until a new owner
// must have finished that expiry (so the takeover, not the restarted
// owner, is what the checker holds to the expiry bound); right after a
// register through another node was acknowledged; and the node that took
// such a write.
func (r *run) ownerKill(ctx, simCtx context.Context) error {
	b := r.cfg.Bounds
	step := 0 // which moment comes next; a moment that cannot happen now is tried again
	for i := 0; i < 1000 && ctx.Err() == nil; i++ {
		if !sleepCtx(ctx, r.between(time.Second, 2*time.Second)) {
			return nil
		}
		svc := r.svcs[r.rng.IntN(len(r.svcs))]
		owner := r.ownerOf(svc)
		if owner == "" {
			continue
		}
		var via string
		for _, p := range r.c.Live() {
			if p.Name != owner {
				via = p.Name
			}
		}
		pause := r.between(500*time.Millisecond, 2*time.Second)
		switch step % 3 {
		case 0:
			var victim *Sim
			for _, s := range r.w.Sims() {
				if s.Inst.Service == svc {
					victim = s
				}
			}
			if victim == nil {
				continue
			}
			r.w.Silence(victim)
			silenced := time.Now()
			// Kill the owner before it can mark the instance unhealthy:
			// its deadline runs from the last beat it heard, not from the
			// silence, so a kill after it would find the expiry already
			// replicated and prove nothing about the takeover.
			left := time.Until(victim.Heard().Add(b.BeatTimeout)) - 150*time.Millisecond
			if left < 100*time.Millisecond {
				continue
			}
			time.Sleep(r.between(left/4, left))
			d := time.Since(silenced)
			pause = r.between(b.FailureDetection+b.DeleteTimeout+b.Slack, b.FailureDetection+b.DeleteTimeout+b.Slack+2*time.Second)
			r.logf("%s silent %v ago; killing owner %s mid-expiry, down for %v", victim.Inst, d.Round(time.Millisecond), owner,
				pause.Round(time.Millisecond))
		case 1:
			s := r.w.Spawn(simCtx, svc, via)
			r.logf("register %s via %s acknowledged; killing owner %s", s.Inst, via, owner)
		default:
			// Durability: kill the node that took the write, not the owner.
			s := r.w.Spawn(simCtx, svc, via)
			r.logf("register %s via %s acknowledged; killing %s (took the write)", s.Inst, via, via)
			owner = via
		}
		step++
		if err := r.killRestart(ctx, []string{owner}, pause, false); err != nil {
			return err
		}
	}
	return nil
}

// churn SIGTERMs a node and starts one with a new name, keeping the size.
func (r *run) churn(ctx context.Context) error {
	for i := 0; i < 1000 && ctx.Err() == nil; i++ {
		if !sleepCtx(ctx, r.between(1500*time.Millisecond, 3*time.Second)) {
			return nil
		}
		live := r.c.Live()
		victim := live[r.rng.IntN(len(live))].Name
		r.logf("SIGTERM %s", victim)
		if err := r.c.Stop(victim, syscall.SIGTERM); err != nil {
			return err
		}
		name := r.newName()
		if _, err := r.c.Start(context.Background(), name, "", ""); err != nil {
			return err
		}
		if err := r.c.WaitReady(context.Background(), 30*time.Second); err != nil {
			return err
		}
		r.logf("%s joined", name)
	}
	return nil
}

// crashloop SIGKILLs a random node every 3 to 5 s and restarts it under
// the same name at once, so the services it owned move away and back
// again and again; the checker holds silent instances to their delete
// timeout from the last beat (Bounds.FromLastBeat), however often their
// owner changed.
func (r *run) crashloop(ctx context.Context) error {
	for i := 0; i < 1000 && ctx.Err() == nil; i++ {
		if !sleepCtx(ctx, r.between(3*time.Second, 5*time.Second)) {
			return nil
		}
		live := r.c.Live()
		if len(live) < r.cfg.Nodes {
			continue
		}
		victim := live[r.rng.IntN(len(live))].Name
		if err := r.killRestart(ctx, []string{victim}, r.between(0, 500*time.Millisecond), false); err != nil {
			return err
		}
	}
	return nil
}

// partition cuts the cluster into a minority and a majority for longer
// than failure detection, repeatedly, healing in between.
func (r *run) partition(ctx context.Context) error {
	for i := 0; i < 100 && ctx.Err() == nil; i++ {
		if !sleepCtx(ctx, r.between(time.Second, 2*time.Second)) {
			return nil
		}
		live := r.c.Live()
		perm := r.rng.Perm(len(live))
		var a, b []string
		for j, k := range perm {
			if j < len(live)/2 {
				a = append(a, live[k].Name)
			} else {
				b = append(b, live[k].Name)
			}
		}
		r.h.AddEvent(Event{Kind: EvPartition, T: time.Now(), Detail: fmt.Sprintf("%v | %v", a, b)})
		r.logf("partition %v | %v", a, b)
		if err := r.f.partition(a, b); err != nil {
			return err
		}
		time.Sleep(r.between(5*time.Second, 8*time.Second))
		if err := r.heal(); err != nil {
			return err
		}
	}
	return nil
}

func (r *run) heal() error {
	if err := r.f.heal(); err != nil {
		return err
	}
	healed := time.Now()
	r.h.AddEvent(Event{Kind: EvHeal, T: healed})
	if err := r.c.WaitReady(context.Background(), 30*time.Second); err != nil {
		return fmt.Errorf("chaos: membership after healing: %w", err)
	}
	r.logf("healed; every node saw the whole cluster again after %v", time.Since(healed).Round(time.Millisecond))
	return nil
}
