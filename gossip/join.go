package gossip

// Joining and rejoining.
//
// joinLoop first contacts the seeds until one answers, waiting between
// attempts with capped exponential backoff and jitter. A seed that is this
// node's own address is skipped, so a uniform seed list can be given to
// every node without a node counting itself as joined.
//
// It then watches for evidence that the cluster maps this node's name to
// another address: a peer's node list (mergeDelegate) or an alive message
// (conflictDelegate) naming an earlier run of this node. That happens when
// a node restarts on a new port before its peers declared the old one dead.
// Peers refuse the new address until the old one is dead and their
// DeadNodeReclaimTime has passed, and nothing in memberlist resends our
// alive message after that except the periodic push/pull. So the loop joins
// its peers again every rejoinInterval until a whole round passes without
// such evidence.

import (
	"context"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// maxRejoinTargets bounds the peers contacted in one rejoin round.
const maxRejoinTargets = 8

// selfWatch counts evidence that peers know this node at another address.
// Its methods are safe to call from memberlist callbacks.
type selfWatch struct {
	name       string
	addr       atomic.Pointer[string] // our advertised host:port, set by Start
	stale      atomic.Uint64          // pieces of evidence seen so far
	conflicted atomic.Bool            // evidence seen and the cluster has not accepted us yet
	signal     chan struct{}          // capacity 1; wakes the join loop
}

func newSelfWatch(name string) *selfWatch {
	return &selfWatch{name: name, signal: make(chan struct{}, 1)}
}

func (w *selfWatch) setAddr(addr string) { w.addr.Store(&addr) }

// check reports n if it is this node at an address other than ours.
func (w *selfWatch) check(n *memberlist.Node) {
	if n.Name != w.name {
		return
	}
	if addr := w.addr.Load(); addr != nil && nodeAddr(n) != *addr {
		w.report()
	}
}

// report records one piece of evidence and wakes the join loop.
func (w *selfWatch) report() {
	w.conflicted.Store(true)
	w.stale.Add(1)
	select {
	case w.signal <- struct{}{}:
	default:
	}
}

// joinLoop joins the seeds, then rejoins whenever the cluster holds a stale
// address for this node. It returns when ctx is done.
func (g *Gossip) joinLoop(ctx context.Context) {
	ok := g.joinSeeds(ctx)
	close(g.seedsDone)
	if !ok {
		return
	}
	interval := g.rejoinEvery
	for {
		select {
		case <-ctx.Done():
			return
		case <-g.self.signal:
		}
		g.logger.Warn("gossip: cluster knows this node at an older address; rejoining until it accepts the new one",
			"addr", g.view.local().Addr)
		for round := 1; ; round++ {
			if !sleepCtx(ctx, jitter(interval)) {
				return
			}
			before := g.self.stale.Load()
			targets := g.rejoinTargets()
			if len(targets) == 0 {
				g.self.conflicted.Store(false)
				break
			}
			n, err := g.ml.Load().Join(targets)
			g.logger.Debug("gossip: rejoin round", "round", round, "contacted", n, "err", err)
			if round >= 16 && round&(round-1) == 0 {
				g.logger.Warn("gossip: peers still know this node's name at another address; is another node using it?",
					"rounds", round, "addr", g.view.local().Addr)
			}
			if err == nil && g.self.stale.Load() == before {
				g.self.conflicted.Store(false)
				g.logger.Info("gossip: cluster accepted this node's address", "rounds", round)
				break
			}
		}
	}
}

// joinSeeds contacts the seeds until one answers, JoinRetryMax attempts are
// used up, or ctx is done. It reports whether the node joined.
func (g *Gossip) joinSeeds(ctx context.Context) bool {
	seeds := g.otherSeeds()
	if len(seeds) == 0 {
		g.joined.Store(true)
		return true
	}
	backoff := g.cfg.JoinRetryInterval
	for attempt := 1; ; attempt++ {
		n, err := g.ml.Load().Join(seeds)
		g.noteRefusal(n, err)
		if n > 0 {
			g.joined.Store(true)
			g.logger.Info("gossip: joined", "contacted", n, "attempt", attempt, "members", g.NumMembers())
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		if g.cfg.JoinRetryMax > 0 && attempt >= g.cfg.JoinRetryMax {
			g.logger.Error("gossip: giving up joining; running as a cluster of one",
				"seeds", seeds, "attempts", attempt, "err", err)
			return false
		}
		wait := jitter(backoff)
		g.logger.Warn("gossip: join failed; retrying", "seeds", seeds, "attempt", attempt,
			"retry_in", wait, "err", err)
		if !sleepCtx(ctx, wait) {
			return false
		}
		backoff = min(2*backoff, g.cfg.JoinRetryMaxInterval)
	}
}

// otherSeeds returns cfg.Join without the seeds that are this node itself.
func (g *Gossip) otherSeeds() []string {
	self, err := netip.ParseAddrPort(g.view.local().Addr)
	if err != nil {
		return g.cfg.Join
	}
	bind, _ := parseIPPort(g.cfg.BindAddr)
	var out []string
	for _, seed := range g.cfg.Join {
		if isSelfAddr(seed, self, bind.Addr()) {
			g.logger.Debug("gossip: skipping seed that is this node", "seed", seed)
			continue
		}
		out = append(out, seed)
	}
	return out
}

// isSelfAddr reports whether seed (host:port) resolves to self, or to the
// wildcard bind address's port on a loopback IP.
func isSelfAddr(seed string, self netip.AddrPort, bind netip.Addr) bool {
	host, portStr, err := net.SplitHostPort(seed)
	if err != nil {
		return false
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil || uint16(port) != self.Port() {
		return false
	}
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = append(ips, ip)
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		resolved, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return false
		}
		ips = resolved
	}
	for _, ip := range ips {
		ip = ip.Unmap()
		if ip == self.Addr() || ip == bind || (bind.IsUnspecified() && ip.IsLoopback()) {
			return true
		}
	}
	return false
}

// rejoinTargets returns up to maxRejoinTargets addresses of other members
// and seeds, members first, in random order.
func (g *Gossip) rejoinTargets() []string {
	selfAddr := g.view.local().Addr
	var members []string
	for _, m := range g.view.list() {
		if m.Name != g.cfg.Name && m.Addr != selfAddr {
			members = append(members, m.Addr)
		}
	}
	rand.Shuffle(len(members), func(i, j int) { members[i], members[j] = members[j], members[i] })
	targets := members
	for _, s := range g.otherSeeds() {
		if !slices.Contains(targets, s) {
			targets = append(targets, s)
		}
	}
	if len(targets) > maxRejoinTargets {
		targets = targets[:maxRejoinTargets]
	}
	return targets
}

// jitter returns a duration uniformly drawn from [d/2, d).
func jitter(d time.Duration) time.Duration {
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + rand.N(half)
}

// sleepCtx waits for d or until ctx is done, and reports whether d passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// refusals are the errors of a join the seeds answered but refused: they
// hold another gossip key (or none), or another cluster label. Seeds that
// do not answer at all are silent, not refusing.
var refusals = []string{
	"no installed keys could decrypt",
	"encryption is configured but remote state is not encrypted",
	"remote state is encrypted and encryption is not configured",
	"label",
}

// noteRefusal records why the last join attempt was refused, if it was;
// a successful join clears it.
func (g *Gossip) noteRefusal(contacted int, err error) {
	if contacted > 0 || err == nil {
		g.refused.Store(nil)
		return
	}
	msg := err.Error()
	for _, r := range refusals {
		if strings.Contains(msg, r) {
			reason := strings.TrimSpace(msg)
			g.refused.Store(&reason)
			return
		}
	}
}

// JoinRefused returns why the seeds refused this node's last join attempt
// (another gossip key, say), or "" if they did not refuse it.
func (g *Gossip) JoinRefused() string {
	if r := g.refused.Load(); r != nil {
		return *r
	}
	return ""
}
