package chaos

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/roster-io/roster/internal/agentproc"
)

// Expiry brakes. A node whose front door sheds requests, or whose beats
// wait too long to be applied, holds every expiry it owns, and on release
// gives its instances a fresh timeout (design.md, "Overload"). That is the
// registry doing what it is meant to under overload, so the checker does
// not hold it to the expiry deadlines then: WatchBrakes reads every node's
// brake from its metrics (roster_expiry_brake, 1 while it holds, and
// roster_expiry_brake_engaged_total) and records each hold as an EvBrake
// event, from the last reading that saw the brake off (Since) to the
// first that saw it off again (T); a silent instance whose service's
// owner held its brake before the instance's deadline gets the deadline
// it has after the release: a beat timeout (delete timeout) plus Slack
// from T. The summary counts the holds and the instances they covered. A
// beating instance listed unhealthy is a violation whatever the brake.

// brakeEvery is how often WatchBrakes reads each node: a hold lasts at
// least two brake lags (2 s by default), and its ends are known to within
// this.
const brakeEvery = 500 * time.Millisecond

// brakeReading is one node's brake as its metrics showed it.
type brakeReading struct {
	on      bool
	engaged float64
}

// WatchBrakes records the expiry-brake holds of every live node in h until
// ctx ends.
func WatchBrakes(ctx context.Context, c *agentproc.Cluster, h *History) {
	hc := &http.Client{Timeout: 2 * time.Second}
	t := time.NewTicker(brakeEvery)
	defer t.Stop()
	type state struct {
		pid      int
		last     brakeReading
		lastAt   time.Time // the last reading
		holdFrom time.Time // non-zero while a hold is open
	}
	var mu sync.Mutex // guards states
	states := map[string]*state{}
	for {
		var wg sync.WaitGroup
		for _, p := range c.Live() {
			wg.Go(func() {
				r, err := readBrake(ctx, hc, p.URL())
				now := time.Now()
				if err != nil {
					return // unknown: the hold, if any, stays open
				}
				mu.Lock()
				defer mu.Unlock()
				st := states[p.Name]
				if st == nil || st.pid != p.PID() {
					// A new process: its counters start afresh, and a
					// hold of the one before ended with it.
					if st != nil && !st.holdFrom.IsZero() {
						h.AddEvent(Event{Kind: EvBrake, Node: p.Name, Since: st.holdFrom, T: now, Detail: "held expiries until its process ended"})
					}
					st = &state{pid: p.PID(), last: brakeReading{engaged: r.engaged}, lastAt: now}
					states[p.Name] = st
				}
				held := r.on || r.engaged > st.last.engaged
				if held && st.holdFrom.IsZero() {
					st.holdFrom = st.lastAt
				}
				if !r.on && !st.holdFrom.IsZero() {
					h.AddEvent(Event{Kind: EvBrake, Node: p.Name, Since: st.holdFrom, T: now,
						Detail: fmt.Sprintf("held expiries for at most %v", now.Sub(st.holdFrom).Round(time.Millisecond))})
					st.holdFrom = time.Time{}
				}
				st.last, st.lastAt = r, now
			})
		}
		wg.Wait()
		select {
		case <-ctx.Done():
			mu.Lock()
			for name, st := range states {
				if !st.holdFrom.IsZero() {
					h.AddEvent(Event{Kind: EvBrake, Node: name, Since: st.holdFrom, T: time.Now(), Detail: "held expiries until the end"})
				}
			}
			mu.Unlock()
			return
		case <-t.C:
		}
	}
}

// readBrake reads the expiry brake from the metrics of the node at addr
// (its base URL).
func readBrake(ctx context.Context, hc *http.Client, addr string) (brakeReading, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, addr+"/metrics", nil)
	if err != nil {
		return brakeReading{}, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return brakeReading{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return brakeReading{}, fmt.Errorf("chaos: metrics of %s: %s", addr, resp.Status)
	}
	var r brakeReading
	seen := 0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok || (name != "roster_expiry_brake" && name != "roster_expiry_brake_engaged_total") {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			return brakeReading{}, fmt.Errorf("chaos: metrics of %s: %s: %w", addr, name, err)
		}
		seen++
		if name == "roster_expiry_brake" {
			r.on = v != 0
		} else {
			r.engaged = v
		}
	}
	if err := sc.Err(); err != nil {
		return brakeReading{}, err
	}
	if seen < 2 {
		return brakeReading{}, fmt.Errorf("chaos: metrics of %s: no expiry brake", addr)
	}
	return r, nil
}

// braked moves the deadlines of silent instance p of service past the
// expiry-brake holds of its owner: a hold on a node that an owner poll
// named as the service's owner, from 5 s before the hold to its end, that
// began before the deadline and ended after the instance's last beat.
// It reports whether it moved them.
func (c *checker) braked(p *plan, service string) bool {
	moved, nominal := false, p.absent
	for _, e := range c.s.events { // in time order: a moved deadline may meet a later hold
		if e.Kind != EvBrake || !e.T.After(p.last) || !c.ownedBy(service, e.Node, e.Since.Add(-5*time.Second), e.T) {
			continue
		}
		if e.Since.Before(p.unhealthy) && e.T.After(p.baseU) {
			p.baseU, moved = e.T, true
			p.unhealthy = maxTime(p.unhealthy, e.T.Add(c.b.BeatTimeout+c.b.Slack))
		}
		if e.Since.Before(p.absent) && e.T.After(p.baseA) {
			p.baseA, moved = e.T, true
			p.absent = maxTime(p.absent, e.T.Add(c.b.DeleteTimeout+c.b.Slack))
		}
	}
	if moved {
		c.res.BrakeMoved++
		p.nominal = nominal
	}
	return moved
}

// inBrakeWindow reports whether, at t, the instance at addr of service is
// a silent one whose removal an expiry-brake hold has moved past t: nodes
// may differ on it then without a repair being owed.
func (c *checker) inBrakeWindow(service, addr string, t time.Time) bool {
	for _, p := range c.plans[service] {
		if !p.nominal.IsZero() && p.inst.Addr() == addr && t.Before(p.absent) {
			return true
		}
	}
	return false
}

// ownedBy reports whether an owner poll answered over [a, b] named node
// as the owner of service.
func (c *checker) ownedBy(service, node string, a, b time.Time) bool {
	for _, o := range c.s.owners {
		if o.Service == service && o.Owner == node && !o.End.Before(a) && !o.Start.After(b) {
			return true
		}
	}
	return false
}

// brakeHolds counts the EvBrake events.
func (c *checker) brakeHolds() int {
	n := 0
	for _, e := range c.s.events {
		if e.Kind == EvBrake {
			n++
		}
	}
	return n
}
