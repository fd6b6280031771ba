package agenttest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roster-io/roster/agent"
	"github.com/roster-io/roster/internal/await"
)

// Cluster is a set of in-process agents on loopback with fast gossip,
// named n0, n1, … and joined through the first. The network between them
// passes through the cluster, so a test can cut it. It is safe for
// concurrent use.
type Cluster struct {
	tb testing.TB

	// mu guards agents, cut, seed and gossipNames.
	mu          sync.Mutex
	agents      map[string]*agent.Agent
	cut         map[[2]string]bool // cut[from,to]: from cannot send to to
	seed        string
	gossipNames map[string]string // gossip address → agent name
}

// seedJoinTimeout is how long an agent joining through the cluster's
// first agent waits for it to answer before it starts a cluster alone.
const seedJoinTimeout = 20 * time.Second

// seedSyncGrace is how long an agent that joined waits for a ready member
// to pull from before it starts on its own (node.DefaultConfig's).
const seedSyncGrace = 5 * time.Second

// NewCluster starts size agents with agent.DefaultLocalConfig adjusted by
// mutate, logging to the test at warn level, and waits until every one
// is ready and sees all of them in its ring.
func NewCluster(tb testing.TB, size int, mutate ...func(*agent.Config)) *Cluster {
	tb.Helper()
	c := &Cluster{tb: tb, agents: map[string]*agent.Agent{}, cut: map[[2]string]bool{}, gossipNames: map[string]string{}}
	for i := range size {
		c.Start(fmt.Sprintf("n%d", i), mutate...)
	}
	c.WaitConverged(20 * time.Second)
	return c
}

// Start starts (or restarts) agent name, joined through the cluster's
// first agent; it does not wait for it to be ready.
func (c *Cluster) Start(name string, mutate ...func(*agent.Config)) *agent.Agent {
	c.tb.Helper()
	cfg := agent.DefaultLocalConfig()
	cfg.Name = name
	cfg.Logger = Logger(c.tb, name)
	c.mu.Lock()
	if c.seed != "" {
		cfg.Join = []string{c.seed}
		// The seed is alive, but on a loaded machine it can take longer
		// than the local profile's join timeout to answer, or be falsely
		// suspected for longer than its sync grace; the agent would then
		// start on its own, ready on an empty registry, and merge with
		// the real cluster later. The production defaults apply instead.
		cfg.JoinTimeout, cfg.SyncGrace = seedJoinTimeout, seedSyncGrace
	}
	c.mu.Unlock()
	cfg.AllowPeer = func(to string) bool { return c.allowed(name, to) }
	cfg.AllowGossipAddr = func(addr string) bool {
		c.mu.Lock()
		to := c.gossipNames[addr]
		c.mu.Unlock()
		return c.allowed(name, to)
	}
	for _, m := range mutate {
		m(&cfg)
	}
	a := launch(c.tb, cfg)
	c.mu.Lock()
	if c.seed == "" {
		c.seed = a.GossipAddr()
	}
	c.agents[name] = a
	c.gossipNames[a.GossipAddr()] = name
	c.mu.Unlock()
	return a
}

// allowed reports whether from may send to to.
func (c *Cluster) allowed(from, to string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.cut[[2]string{from, to}]
}

// Stop shuts agent name down gracefully and forgets it.
func (c *Cluster) Stop(name string) {
	c.mu.Lock()
	a := c.agents[name]
	delete(c.agents, name)
	c.mu.Unlock()
	stop(c.tb, a)
}

// Kill stops agent name without a goodbye, as SIGKILL would: no leave, no
// flush; its sockets close.
func (c *Cluster) Kill(name string) {
	c.mu.Lock()
	a := c.agents[name]
	delete(c.agents, name)
	c.mu.Unlock()
	a.Kill()
}

// Cut stops what from sends to to, one way.
func (c *Cluster) Cut(from, to string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cut[[2]string{from, to}] = true
}

// Partition cuts the network between sides a and b, both ways.
func (c *Cluster) Partition(a, b []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, x := range a {
		for _, y := range b {
			c.cut[[2]string{x, y}] = true
			c.cut[[2]string{y, x}] = true
		}
	}
}

// Heal restores the whole network.
func (c *Cluster) Heal() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cut = map[[2]string]bool{}
}

// Agent returns a live agent by name, or nil.
func (c *Cluster) Agent(name string) *agent.Agent {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.agents[name]
}

// Agents returns the live agents, sorted by name.
func (c *Cluster) Agents() []*agent.Agent {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*agent.Agent, 0, len(c.agents))
	for _, a := range c.agents {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b *agent.Agent) int { return strings.Compare(a.Node().Name(), b.Node().Name()) })
	return out
}

// WaitConverged waits until every live agent is ready and sees every live
// agent as a ready member in its ring.
func (c *Cluster) WaitConverged(within time.Duration) {
	c.tb.Helper()
	await.True(c.tb, within, "cluster converged", func() bool {
		live := c.Agents()
		for _, a := range live {
			if !a.Ready() || a.Node().Ring().Len() != len(live) {
				return false
			}
		}
		return true
	})
}
