package bench

// The idle window, and settling before it: a start changes every owner's
// last-heard report many times, and a change reaches each member on its
// own schedule (at once to the sender's heirs, at most one report every
// two heard intervals to each; to the other members in place of their
// next renewal, up to a refresh later: a second per member above 30
// members). Until every member holds every owner's current report, the
// nodes still send whole reports where a settled cluster sends only
// renewals. The idle window starts once every node reports, in the gauge
// roster_heard_reports_owed, that no member is owed its report.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/roster-io/roster/internal/agentproc"
	"github.com/roster-io/roster/peer"
)

// idle measures the idle cluster, once settled (settle): bytes, CPU,
// memory, suspicions, and the bytes of an anti-entropy exchange between
// nodes in sync.
func (s *scaleRun) idle(ctx context.Context) error {
	procs := s.lc.Live()
	if err := s.settle(ctx, procs); err != nil {
		return err
	}
	w, err := measure(ctx, s.hc, procs, s.cfg.Idle)
	if err != nil {
		return err
	}
	s.r.ScrapeMissed += w.missed
	s.r.IdleBytesPerNodePerS = w.bytesPerNode()
	s.r.IdleGossipBytesPerNodePerS = w.gossipPerNode()
	s.r.IdlePeerBytesPerNodePerS = w.peerPerNode()
	s.r.CPUPerNode = w.cpuPerNode()
	if ex := w.sum.v[cAEExchanges]; ex > 0 {
		// Idle, the nodes are in sync: each exchange compares digests.
		s.r.AntiEntropyBytesPerExch = w.kindBytes(peer.KindAntiEntropy) / ex
		s.r.AntiEntropyBodyBytesPerExch = w.sum.v[cBody+int(peer.KindAntiEntropy)] / ex
	}
	s.r.IdleHeardBytesPerNodePerS = w.perNodeRate(w.kindBytes(peer.KindHeard))
	s.r.IdleHeardRequestsPerNodePerS = w.perNodeRate(w.sum.v[cReq+int(peer.KindHeard)])
	s.r.IdlePingBytesPerNodePerS = w.perNodeRate(w.sum.v[cPingBytes])
	if n := w.sum.v[cReq+int(peer.KindHeard)]; n > 0 {
		s.r.IdleHeardBodyBytesPerRequest = w.sum.v[cBody+int(peer.KindHeard)] / n
	}
	s.r.FalseSuspicions += w.sum.v[cSuspicions]
	s.r.Refutations += w.sum.v[cRefutes]
	s.r.RSSPerNodeMB, err = meanRSSMB(procs)
	return err
}

// settleEvery is how often the bench scrapes the nodes while it waits
// for them to settle, and settleHeld how long every node must owe
// nothing: a node updates the gauge when it reports (every heard
// interval, 1 s, and 200 ms after a ring change), so a ring change may
// not show in it for over a second.
const (
	settleEvery = time.Second
	settleHeld  = 3 * time.Second
)

// settleWithinIdle bounds the wait: the longest refresh (a second per
// member) twice over, plus a minute.
func settleWithinIdle(nodes int) time.Duration {
	return time.Minute + 2*time.Duration(nodes)*time.Second
}

// settle waits until no node owes a member its last-heard report, for
// settleHeld on end, and records how long after all were ready that
// began (IdleSettleMs). At the
// limit it records which nodes still owed how many (IdleNotSettled) and
// returns, so the idle window is measured anyway. Agents that do not
// export the gauge are not waited for.
func (s *scaleRun) settle(ctx context.Context, procs []*agentproc.Proc) error {
	limit := time.Now().Add(settleWithinIdle(len(procs)))
	var since time.Time // when every node last began to owe nothing
	for {
		cs, errs := scrapeEach(ctx, s.hc, procs)
		var owing []string
		unknown := 0
		for i, c := range cs {
			switch {
			case errs[i] != nil:
				owing = append(owing, procs[i].Name+": no answer")
			case c.owed < 0:
				unknown++
			case c.owed > 0:
				owing = append(owing, fmt.Sprintf("%s: %.0f", procs[i].Name, c.owed))
			}
		}
		if unknown == len(procs) {
			s.r.IdleSettleMs = -1
			return nil
		}
		switch {
		case len(owing) > 0:
			since = time.Time{}
		case since.IsZero():
			since = time.Now()
		case time.Since(since) >= settleHeld:
			s.r.IdleSettleMs = toMs(since.Sub(s.readyAt))
			return nil
		}
		if time.Now().After(limit) && len(owing) == 0 {
			s.r.IdleSettleMs = toMs(since.Sub(s.readyAt))
			return nil
		}
		if time.Now().After(limit) {
			slices.Sort(owing)
			s.r.IdleSettleMs = toMs(time.Since(s.readyAt))
			s.r.IdleNotSettled = fmt.Sprintf("%d nodes still owed reports after %v: %s", len(owing), settleWithinIdle(len(procs)),
				strings.Join(owing[:min(len(owing), 10)], ", "))
			s.cfg.Progress("scale %d: %s", s.cfg.Nodes, s.r.IdleNotSettled)
			return nil
		}
		if err := waitFor(ctx, settleEvery); err != nil {
			return err
		}
	}
}
