package gossip

// Failure-detection timing.
//
// memberlist (SWIM + Lifeguard) finds a crashed node in four steps, and the
// profiles below are tuned around their sum:
//
//	detect ≈ first probe + ProbeInterval + suspicion timeout + spread
//
//   - first probe: every node probes one peer per ProbeInterval, walking a
//     shuffled list, so each survivor reaches the dead node once per
//     (N-1)·ProbeInterval; the first of the N-1 survivors gets there after
//     about (N-1)/N·ProbeInterval on average, (N-1)·ProbeInterval at worst.
//   - ProbeInterval: a failed probe waits ProbeTimeout for a direct UDP ack,
//     then asks IndirectChecks peers and tries TCP, and suspects the node
//     only when the whole interval has passed without an ack.
//   - suspicion timeout: SuspicionMult·max(1, log10 N)·ProbeInterval once
//     k = SuspicionMult-2 other nodes have independently confirmed the
//     suspicion. Without confirmations the timer starts at
//     SuspicionMaxTimeoutMult times that and shrinks as they arrive
//     (Lifeguard); when N-2 < k no confirmations are expected and the short
//     timeout applies at once. (memberlist's comment says log(N+1); its code,
//     util.go suspicionTimeout, uses max(1, log10 N), so the factor is 1 for
//     clusters below 10 nodes.)
//   - spread: the node that times out first gossips "dead" every
//     GossipInterval to GossipNodes peers, which stop their own timers.
//
// memberlist's stock LAN profile gives 0.8s + 1s + 4s + 0.2s ≈ 6s for five
// nodes, the 5–7s seen in practice.
//
// Lifeguard stays on in every profile: a node that misses its own deadlines
// (nacks from indirect probes do not arrive) raises its health score, which
// multiplies its probe interval and probe deadline by up to
// AwarenessMaxMultiplier, and an accusation nobody confirms runs for the
// long suspicion timeout, which gives the accused ample time to refute.

import (
	"fmt"
	"time"

	"github.com/hashicorp/memberlist"
)

// Profile names a set of memberlist timers.
type Profile string

const (
	// ProfileLAN is for nodes on one LAN or data centre. A crashed node is
	// declared dead by every survivor in about 1.5–2.5s.
	ProfileLAN Profile = "lan"

	// ProfileLocal is for nodes on one host talking over loopback: tests
	// and development clusters. A crashed node is declared dead in about
	// one second.
	ProfileLocal Profile = "local"

	// ProfileWAN is memberlist's WAN profile, for nodes across data centres.
	// Detection takes tens of seconds.
	ProfileWAN Profile = "wan"

	// ProfileShared is for many nodes sharing few cores: dense hosts,
	// CPU-limited containers, a whole cluster on one machine. It tolerates
	// scheduling stalls of a few hundred milliseconds and costs a third of
	// lan's probes; a crashed node is declared dead in about 5 s (10
	// nodes) to 10 s (100).
	ProfileShared Profile = "shared"
)

// memberlistConfig returns memberlist's configuration for p, without the
// node-specific fields (name, addresses, delegates, logger).
//
// Only wan compresses its packets. memberlist compresses each one with a
// fresh LZW table (a 16 KiB allocation, and most of the time spent
// compressing), which on a LAN buys nothing: its packets are sized to fit
// one datagram before they are compressed. Every build decodes both kinds,
// so nodes of either setting gossip with each other.
func (p Profile) memberlistConfig() (*memberlist.Config, error) {
	var c *memberlist.Config
	switch p {
	case ProfileLAN:
		c = lanConfig()
	case ProfileLocal:
		c = localConfig()
	case ProfileWAN:
		c = wanConfig()
	case ProfileShared:
		c = sharedConfig()
	default:
		return nil, fmt.Errorf("profile %q: want %q, %q, %q or %q", string(p), ProfileLAN, ProfileLocal, ProfileWAN, ProfileShared)
	}
	c.EnableCompression = p == ProfileWAN
	return c, nil
}

// lanConfig is memberlist's LAN profile with faster failure detection.
//
// With N = 5 (k = 2 confirmations wanted):
//
//	first probe   4/5 · 0.3s            ≈ 0.24s (worst 1.2s)
//	probe         ProbeInterval          = 0.3s
//	suspicion     4 · 1 · 0.3s           = 1.2s  (upper bound 4 · 1.2s = 4.8s)
//	spread        ~GossipInterval        ≈ 0.1s
//	total                                ≈ 1.85s mean, ≈ 2.8s worst
//
// The other three survivors each probe the dead node once per 4 · 0.3s =
// 1.2s and need 0.3s to fail, so the two confirmations usually arrive about
// 0.9s into the suspicion, before the 1.2s floor. With N = 3, N-2 = 1 < k, so
// the 1.2s floor applies with no confirmations.
func lanConfig() *memberlist.Config {
	c := memberlist.DefaultLANConfig()

	// Probe a peer every 300ms (stock 1s). This is the main lever: both the
	// probe wait and the suspicion timeout scale with it. Cost: one UDP ping
	// and ack per node per 300ms, negligible on a LAN.
	c.ProbeInterval = 300 * time.Millisecond

	// Wait 100ms for a direct ack (stock 500ms) before asking indirect peers
	// and trying TCP. A LAN's 99th-percentile RTT is a few milliseconds, so
	// 100ms leaves room for GC pauses and scheduling delays. It also keeps
	// 2·ProbeTimeout = 200ms below ProbeInterval: indirect peers send their
	// nack after their own ProbeTimeout, and a nack arriving after the
	// probe's deadline would count against the prober's own health.
	c.ProbeTimeout = 100 * time.Millisecond

	// Keep the stock multiplier of 4: suspicion floor 4 · 0.3s = 1.2s, and
	// k = 4-2 = 2 confirmations to reach it, so in clusters of four or more
	// a lone (possibly overloaded) accuser cannot shorten the timer.
	c.SuspicionMult = 4

	// Upper bound 4 · 1.2s = 4.8s for an unconfirmed suspicion (stock 6,
	// which would be 7.2s). Refuting takes one gossip round on a LAN, so
	// 4.8s is a wide margin, and a suspicion with only one of two
	// confirmations still ends within 4.8 - log(2)/log(3) · 3.6 ≈ 2.5s.
	c.SuspicionMaxTimeoutMult = 4

	// Ask three peers to probe indirectly (stock), plus the TCP fallback
	// ping: a node must fail all four before it is suspected.
	c.IndirectChecks = 3

	// Gossip queued messages every 100ms (stock 200ms) to three peers, so a
	// "dead" or a refuting "alive" reaches the cluster within a round or
	// two. gossip() sends nothing when nothing is queued.
	c.GossipInterval = 100 * time.Millisecond
	c.GossipNodes = 3

	// Send each broadcast 4 · ceil(log10(N+1)) times (stock).
	c.RetransmitMult = 4

	// Lifeguard: an unhealthy node slows its probing to at most 8 · 0.3s =
	// 2.4s (stock multiplier).
	c.AwarenessMaxMultiplier = 8

	// Full state exchange with one random peer every 15s (stock 30s):
	// heals partitions and missed broadcasts sooner; the state is a few
	// hundred bytes per node.
	c.PushPullInterval = 15 * time.Second

	// Keep gossiping to a dead node for 15s so it can refute, then forget
	// it (stock 30s).
	c.GossipToTheDeadTime = 15 * time.Second

	// Stream (TCP) connect and I/O timeout: 3s (stock 10s). It bounds each
	// join attempt per unreachable seed and each push/pull.
	c.TCPTimeout = 3 * time.Second

	// A name declared dead can be taken by a new address after 2s (stock:
	// never), so a node restarted on a new address rejoins quickly.
	c.DeadNodeReclaimTime = 2 * time.Second
	return c
}

// localConfig is memberlist's local (loopback) profile with every timer
// shortened, since loopback RTT is microseconds.
//
// With N = 3 (SuspicionMult 3, so k = 1 confirmation wanted):
//
//	first probe   2/3 · 0.2s   ≈ 0.13s
//	probe         0.2s
//	suspicion     3 · 1 · 0.2s = 0.6s (upper bound 4 · 0.6s = 2.4s)
//	spread        ≈ 0.05s
//	total         ≈ 1s
func localConfig() *memberlist.Config {
	c := memberlist.DefaultLocalConfig()
	c.ProbeInterval = 200 * time.Millisecond // stock local 1s
	c.ProbeTimeout = 50 * time.Millisecond   // stock local 200ms; ≤ ProbeInterval/3 as in lan
	c.SuspicionMult = 3                      // stock local
	c.SuspicionMaxTimeoutMult = 4            // stock 6
	c.IndirectChecks = 2                     // stock local 1; one more guard against false alarms under test load
	c.GossipInterval = 50 * time.Millisecond // stock local 100ms
	c.PushPullInterval = 5 * time.Second     // stock local 15s
	c.GossipToTheDeadTime = 5 * time.Second  // stock local 15s
	c.TCPTimeout = time.Second               // stock local
	c.DeadNodeReclaimTime = time.Second      // stock never
	return c
}

// sharedConfig is memberlist's stock LAN timers, with a probe deadline
// below half the probe interval and a reclaim time, for nodes that share
// cores. lan's 100 ms probe deadline assumes a node answers a ping within
// 100 ms; a node that waits longer for a CPU (100 agents on two cores, a
// container throttled by its CPU limit) is suspected, refutes, and the
// broadcasts and ownership moves that follow cost every node more CPU,
// which makes more nodes late. Here a ping has 400 ms, then three
// indirect probes and TCP.
//
// With N = 100 (k = 2 confirmations wanted):
//
//	first probe   99/100 · 1s     ≈ 1s
//	probe         ProbeInterval   = 1s
//	suspicion     4 · 2 · 1s      = 8s (upper bound 6 · 8s = 48s)
//	spread        ~GossipInterval ≈ 0.1s
//	total                         ≈ 10s (≈ 6s at 10 nodes)
func sharedConfig() *memberlist.Config {
	c := memberlist.DefaultLANConfig()        // probe 1s, suspicion ×4 (×6 unconfirmed), gossip to 3, push-pull 30s
	c.ProbeTimeout = 400 * time.Millisecond   // stock 500ms; 2·ProbeTimeout below ProbeInterval, as in lan
	c.GossipInterval = 100 * time.Millisecond // as lan: news (a join, a node turning ready) spreads twice as fast; nothing is sent when there is none
	c.DeadNodeReclaimTime = 5 * time.Second   // stock never
	return c
}

// wanConfig is memberlist's WAN profile (probe every 5s, suspicion floor
// 6 · 5s = 30s), plus a reclaim time so a restarted node can take its name
// back on a new address.
func wanConfig() *memberlist.Config {
	c := memberlist.DefaultWANConfig()
	c.DeadNodeReclaimTime = 30 * time.Second
	return c
}

// rejoinInterval is how often a node whose name the cluster still maps to an
// old address (it restarted on a new one) joins again, until its peers
// accept the new address. Peers accept it DeadNodeReclaimTime after they
// declared the old address dead, so checking twice per reclaim time keeps
// the extra delay under half of it.
func rejoinInterval(c *memberlist.Config) time.Duration {
	return c.DeadNodeReclaimTime / 2
}
