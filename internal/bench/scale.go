package bench

// The scale mode starts N agents on loopback and measures what each node
// costs as the cluster grows: how long until every node sees every member
// and until all are ready; a write's time until it is visible on every
// node; the bytes each node sends (gossip and peer traffic apart) and its
// CPU, idle and under a steady load of beats and writes; its resident
// memory; the share of partitions that move on one join and on one leave
// and how long the rings take to agree; how long the survivors take to
// drop a SIGKILLed node; and the suspicions raised while every node was
// alive. Every process is started through internal/agentproc and stopped
// by PID when the run ends, however it ends.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/roster-io/roster/internal/agentproc"
	"github.com/roster-io/roster/peer"
)

// ScaleConfig configures one scale run.
type ScaleConfig struct {
	Binary string
	Nodes  int
	// GossipProfile is the agents' --gossip-profile. Default "shared"
	// (the agents share the machine's cores).
	GossipProfile string
	// Idle and Load are the measured windows. Defaults 20s and 20s.
	Idle, Load time.Duration
	// Instances beat every Interval during the load; WriteRate writes per
	// second go with them. Defaults 10,000 and 5s; a WriteRate of 0
	// writes nothing during the load.
	Instances int
	Interval  time.Duration
	WriteRate int
	// Writes is how many writes are timed until visible everywhere.
	// Default 200.
	Writes int
	// Seeds is how many nodes each new node joins (the first ones).
	// Default 3.
	Seeds int
	// AgentArgs are further agent flags (such as --pprof).
	AgentArgs []string
	// LogDir keeps one log file per agent. Default: a new temporary
	// directory.
	LogDir string
	// Progress, if set, is told what the run is doing.
	Progress func(format string, args ...any)
	// Hold, if set, is called with the cluster once it is up and idle,
	// before anything is measured under load (for a heap profile).
	Hold func(ctx context.Context, procs []*agentproc.Proc)
	// BeatClient is who beats the load's instances: "go" (default), Go
	// clients batching beats per owner (BeatClients of them, default
	// 1), or "nacos", one Nacos HTTP beat per instance and interval.
	BeatClient  string
	BeatClients int
	// CPUProfileDir, if set, receives the first agent's CPU profiles
	// during the start and the load (the agents need --pprof).
	CPUProfileDir string
}

// ScaleResult is one run's figures; the JSON keys are the documented ones.
type ScaleResult struct {
	Nodes              int     `json:"nodes"`
	GossipProfile      string  `json:"gossip_profile"`
	BeatClient         string  `json:"beat_client"`
	WriteRate          int     `json:"write_rate"`
	MembersConvergedMs float64 `json:"members_converged_ms"`
	// MembersNotConverged, when set, says which nodes did not list every
	// member within the start's limit (MembersConvergedMs is then the
	// limit) and how many they listed.
	MembersNotConverged string  `json:"members_not_converged,omitempty"`
	ReadyMs             float64 `json:"ready_ms"`
	// StartHeardRequestsPerNode is the last-heard requests (reports and
	// renewals) a node sent from its start until all were ready, on
	// average, and StartCPUPerNodeS the CPU seconds it used meanwhile.
	StartHeardRequestsPerNode float64 `json:"start_heard_requests_per_node"`
	StartCPUPerNodeS          float64 `json:"start_cpu_per_node_s"`
	WriteVisibleP50Ms         float64 `json:"write_visible_p50_ms"`
	WriteVisibleP99Ms         float64 `json:"write_visible_p99_ms"`
	WriteVisibleMaxMs         float64 `json:"write_visible_max_ms"`
	WritesNotVisible          int     `json:"writes_not_visible"`

	// IdleSettleMs is how long after all were ready every node held
	// every owner's current last-heard report (scale_idle.go), when the
	// idle window starts; -1 when the agents do not tell. IdleNotSettled
	// says which nodes still owed reports at the limit, if any.
	IdleSettleMs   float64 `json:"idle_settle_ms"`
	IdleNotSettled string  `json:"idle_not_settled,omitempty"`

	IdleBytesPerNodePerS       float64 `json:"idle_bytes_per_node_per_s"`
	IdleGossipBytesPerNodePerS float64 `json:"idle_gossip_bytes_per_node_per_s"`
	IdlePeerBytesPerNodePerS   float64 `json:"idle_peer_bytes_per_node_per_s"`
	IdleHeardBytesPerNodePerS  float64 `json:"idle_heard_bytes_per_node_per_s"`
	// IdleHeardRequestsPerNodePerS is the last-heard requests (whole
	// reports and renewals) a node sent a second in the idle window.
	IdleHeardRequestsPerNodePerS float64 `json:"idle_heard_requests_per_node_per_s"`
	// IdlePingBytesPerNodePerS is the bytes of the stream pings a node
	// wrote a second in the idle window.
	IdlePingBytesPerNodePerS float64 `json:"idle_ping_bytes_per_node_per_s"`
	// IdleHeardBodyBytesPerRequest is the bodies of a last-heard request
	// and its answer, on average, in the idle window.
	IdleHeardBodyBytesPerRequest float64 `json:"idle_heard_body_bytes_per_request"`
	AntiEntropyBytesPerExch      float64 `json:"antientropy_bytes_per_exchange"`
	// AntiEntropyBodyBytesPerExch is the bodies alone (requests and
	// answers), without the framing share.
	AntiEntropyBodyBytesPerExch float64 `json:"antientropy_body_bytes_per_exchange"`
	LoadBytesPerNodePerS        float64 `json:"load_bytes_per_node_per_s"`
	LoadGossipBytesPerNodePerS  float64 `json:"load_gossip_bytes_per_node_per_s"`
	LoadPeerBytesPerNodePerS    float64 `json:"load_peer_bytes_per_node_per_s"`
	LoadDeltaBytesPerNodePerS   float64 `json:"load_delta_bytes_per_node_per_s"`
	LoadBeatBytesPerNodePerS    float64 `json:"load_beat_bytes_per_node_per_s"`
	LoadHeardBytesPerNodePerS   float64 `json:"load_heard_bytes_per_node_per_s"`
	LoadRecordsSentPerS         float64 `json:"load_records_sent_per_s"`
	BytesPerRecordSent          float64 `json:"bytes_per_record_sent"`
	LoadBeatsPerS               float64 `json:"load_beats_per_s"`
	HandedOffShare              float64 `json:"handed_off_share"`
	BytesPerHandedOffBeat       float64 `json:"bytes_per_handed_off_beat"`
	CPUPerNode                  float64 `json:"cpu_per_node"`
	LoadCPUPerNode              float64 `json:"load_cpu_per_node"`
	LoadOpsPerS                 float64 `json:"load_ops_per_s"`
	LoadFailed                  uint64  `json:"load_failed"`
	LoadSkipped                 uint64  `json:"load_skipped"`
	// LoadRegisterRetries counts the registrations of the beating
	// instances tried again after a failure (a timeout on a saturated
	// machine).
	LoadRegisterRetries int `json:"load_register_retries"`
	// LoadRegisterS is how long registering the beating instances took.
	LoadRegisterS float64 `json:"load_register_s"`

	MovedFractionJoin  float64 `json:"moved_fraction_join"`
	JoinSettledMs      float64 `json:"join_settled_ms"`
	MovedFractionLeave float64 `json:"moved_fraction_leave"`
	LeaveSettledMs     float64 `json:"leave_settled_ms"`
	DetectMs           float64 `json:"detect_ms"`
	FalseSuspicions    float64 `json:"false_suspicions"`
	Refutations        float64 `json:"refutations"`
	RSSPerNodeMB       float64 `json:"rss_per_node_mb"`
	LoadRSSPerNodeMB   float64 `json:"load_rss_per_node_mb"`
	// ScrapeMissed counts the nodes left out of the idle and load
	// windows because they did not answer a metrics scrape in time.
	ScrapeMissed int    `json:"scrape_missed"`
	Load1        string `json:"loadavg,omitempty"`
	// Error is why the run stopped early; the figures before it stand.
	Error string `json:"error,omitempty"`
}

func (c *ScaleConfig) defaults() error {
	if c.Nodes < 2 {
		return fmt.Errorf("bench: scale: need at least 2 nodes, not %d", c.Nodes)
	}
	if c.Binary == "" {
		return errors.New("bench: scale: no roster binary")
	}
	c.GossipProfile = cmpOrString(c.GossipProfile, "shared")
	c.Idle = cmpOrDur(c.Idle, 20*time.Second)
	c.Load = cmpOrDur(c.Load, 20*time.Second)
	c.Interval = cmpOrDur(c.Interval, 5*time.Second)
	if c.Instances < 0 || c.WriteRate < 0 {
		return errors.New("bench: scale: instances and write rate must not be negative")
	}
	c.BeatClient = cmpOrString(c.BeatClient, "go")
	if c.BeatClient != "go" && c.BeatClient != "nacos" {
		return fmt.Errorf("bench: scale: beat client %q is neither go nor nacos", c.BeatClient)
	}
	c.BeatClients = max(c.BeatClients, 1)
	if c.Writes <= 0 {
		c.Writes = 200
	}
	if c.Seeds <= 0 {
		c.Seeds = 3
	}
	if c.Progress == nil {
		c.Progress = func(string, ...any) {}
	}
	if c.LogDir == "" {
		dir, err := os.MkdirTemp("", "roster-scale-")
		if err != nil {
			return fmt.Errorf("bench: scale: %w", err)
		}
		c.LogDir = dir
	}
	return nil
}

func cmpOrString(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func cmpOrDur(a, b time.Duration) time.Duration {
	if a > 0 {
		return a
	}
	return b
}

// Scale runs the scale mode once for cfg.Nodes nodes. Every process it
// started is stopped before it returns.
func Scale(ctx context.Context, cfg ScaleConfig) (*ScaleResult, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	lc := agentproc.NewCluster(agentproc.ClusterConfig{Bin: cfg.Binary, LogDir: cfg.LogDir, StopWithin: 5 * time.Second,
		MaxSeeds: cfg.Seeds, StartWithin: 2 * time.Minute,
		// No shedding: on a machine running N agents on two shared
		// cores, goroutines and requests wait for a CPU far past the
		// default --shed-latency and --shed-queue-age, and a shed scrape
		// or write would measure the machine, not the cluster.
		Args: append(noShedArgs(cfg.Binary, cfg.GossipProfile), cfg.AgentArgs...)})
	defer lc.Shutdown(syscall.SIGTERM)
	hc := NewHTTPClient(64, 10*time.Second)
	defer hc.CloseIdleConnections()
	s := &scaleRun{cfg: cfg, lc: lc, hc: hc, c: &Client{HTTP: hc},
		r: &ScaleResult{Nodes: cfg.Nodes, GossipProfile: cfg.GossipProfile, BeatClient: cfg.BeatClient,
			WriteRate: cfg.WriteRate}}
	err := s.run(ctx)
	s.r.Load1 = loadAvg()
	if err != nil {
		s.r.Error = err.Error()
	}
	return s.r, err
}

// scaleRun is one run in progress.
type scaleRun struct {
	cfg ScaleConfig
	lc  *agentproc.Cluster
	hc  *http.Client
	c   *Client
	r   *ScaleResult
	// readyAt is when all nodes were ready after the start.
	readyAt time.Time
}

func (s *scaleRun) run(ctx context.Context) error {
	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"start", s.start}, {"idle", s.idle}, {"writes", s.visibility}, {"load", s.load},
		{"join", s.join}, {"leave", s.leave}, {"detect", s.detect},
	}
	for _, st := range steps {
		s.cfg.Progress("scale %d: %s", s.cfg.Nodes, st.name)
		if err := st.fn(ctx); err != nil {
			return fmt.Errorf("bench: scale %d: %s: %w (logs in %s)", s.cfg.Nodes, st.name, err, s.cfg.LogDir)
		}
	}
	return nil
}

// start starts the nodes one after another and times, from the last
// start, until every node lists all of them and until all are ready.
// Four at a time join, each starter waiting for its node to be ready
// before it starts the next, as a rollout does: N processes joining at
// once on the few cores of one machine left each waiting minutes for a
// CPU, for work (the joins and readiness changes every node handles)
// that a cluster with a core per node spreads over its nodes.
func (s *scaleRun) start(ctx context.Context) error {
	// The seeds one after another, then the rest a few at a time (each
	// joins only the seeds).
	width := len(strconv.Itoa(s.cfg.Nodes + 1))
	name := func(i int) string { return fmt.Sprintf("scale%0*d", width, i) }
	for i := 1; i <= min(s.cfg.Seeds, s.cfg.Nodes); i++ {
		p, err := s.lc.Start(ctx, name(i), "", "")
		if err != nil {
			return err
		}
		if i == 1 {
			defer s.profilePhase(ctx, p, "start")()
		}
	}
	next := atomic.Int64{}
	next.Store(int64(s.cfg.Seeds))
	errs := make(chan error, 4)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i := int(next.Add(1)); i <= s.cfg.Nodes && ctx.Err() == nil; i = int(next.Add(1)) {
				p, err := s.lc.Start(ctx, name(i), "", "")
				if err != nil {
					errs <- err
					return
				}
				s.awaitReady(ctx, p)
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	last := time.Now()
	procs := s.lc.Live()
	within := 60*time.Second + time.Duration(s.cfg.Nodes)*time.Second
	var seen sync.Map // name → members it last listed (-1: no answer)
	at, err := pollEach(ctx, procs, within, func(ctx context.Context, p *agentproc.Proc) bool {
		ns := memberNames(ctx, s.hc, p)
		seen.Store(p.Name, map[bool]int{true: len(ns), false: -1}[ns != nil])
		return len(ns) == len(procs)
	})
	if err != nil {
		// Go on: the other figures are still worth having, and the
		// result says how far from converged it was.
		s.r.MembersNotConverged = fmt.Sprintf("%v (%s)", err, listedCounts(&seen, len(procs)))
		s.cfg.Progress("scale %d: %s", s.cfg.Nodes, s.r.MembersNotConverged)
		at = time.Now()
	}
	s.r.MembersConvergedMs = toMs(at.Sub(last))
	if err := s.lc.WaitReady(ctx, within); err != nil {
		return err
	}
	s.readyAt = time.Now()
	s.r.ReadyMs = toMs(s.readyAt.Sub(last))
	if all, err := scrapeAll(ctx, s.hc, procs); err == nil {
		var sum nodeCounters
		for _, c := range all {
			sum = sum.add(c)
		}
		s.r.StartHeardRequestsPerNode = sum.v[cReq+int(peer.KindHeard)] / float64(len(all))
		s.r.StartCPUPerNodeS = sum.cpu.Seconds() / float64(len(all))
	}
	if s.cfg.Hold != nil {
		s.cfg.Hold(ctx, procs)
	}
	return nil
}

// join starts one more node and measures the partitions that moved and
// how long until every ring, the newcomer's too, agrees.
func (s *scaleRun) join(ctx context.Context) error {
	procs := s.lc.Live()
	before, _, err := waitRingsAgree(ctx, s.hc, procs, names(procs), s.settleWithin())
	if err != nil {
		return err
	}
	t0 := time.Now()
	name := fmt.Sprintf("scale%0*d", len(strconv.Itoa(s.cfg.Nodes+1)), s.cfg.Nodes+1)
	if _, err := s.lc.Start(ctx, name, "", ""); err != nil {
		return err
	}
	procs = s.lc.Live()
	after, at, err := waitRingsAgree(ctx, s.hc, procs, names(procs), s.settleWithin())
	if err != nil {
		return err
	}
	s.r.MovedFractionJoin = movedFraction(before, after)
	s.r.JoinSettledMs = toMs(at.Sub(t0))
	return nil
}

// leave stops one node gracefully (SIGTERM: it leaves the gossip) and
// measures the same.
func (s *scaleRun) leave(ctx context.Context) error {
	procs := s.lc.Live()
	before, _, err := waitRingsAgree(ctx, s.hc, procs, names(procs), s.settleWithin())
	if err != nil {
		return err
	}
	victim := procs[len(procs)/2]
	t0 := time.Now()
	if err := s.lc.Stop(victim.Name, syscall.SIGTERM); err != nil {
		return err
	}
	procs = s.lc.Live()
	after, at, err := waitRingsAgree(ctx, s.hc, procs, names(procs), s.settleWithin())
	if err != nil {
		return err
	}
	s.r.MovedFractionLeave = movedFraction(before, after)
	s.r.LeaveSettledMs = toMs(at.Sub(t0))
	return nil
}

// detect SIGKILLs one node by PID and times until every survivor has
// dropped it from its member list.
func (s *scaleRun) detect(ctx context.Context) error {
	procs := s.lc.Live()
	victim := procs[1]
	survivors := slices.DeleteFunc(slices.Clone(procs), func(p *agentproc.Proc) bool { return p == victim })
	t0 := time.Now()
	if err := s.lc.Kill(victim.Name); err != nil {
		return err
	}
	at, err := pollEach(ctx, survivors, 60*time.Second, func(ctx context.Context, p *agentproc.Proc) bool {
		ns := memberNames(ctx, s.hc, p)
		return ns != nil && !slices.Contains(ns, victim.Name)
	})
	if err != nil {
		return err
	}
	s.r.DetectMs = toMs(at.Sub(t0))
	return nil
}

// settleWithin bounds the wait for the rings to agree, before and after
// a join or a leave: the newcomer first pulls the registry from a peer,
// and after the load the agents still work off its backlog, both slow
// on a machine where N agents share the cores.
func (s *scaleRun) settleWithin() time.Duration {
	return 2*time.Minute + time.Duration(s.cfg.Nodes)*time.Second
}

func urls(procs []*agentproc.Proc) []string {
	out := make([]string, len(procs))
	for i, p := range procs {
		out[i] = p.URL()
	}
	return out
}

func toMs(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// loadAvg is /proc/loadavg's first three fields, "" if unreadable.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil || len(b) == 0 {
		return ""
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(len(f), 3)], " ")
}

// listedCounts tells, for the nodes whose last answer was not all n
// members, how many they listed ("no answer" when the request failed).
func listedCounts(seen *sync.Map, n int) string {
	var out []string
	seen.Range(func(k, v any) bool {
		switch c := v.(int); {
		case c < 0:
			out = append(out, fmt.Sprintf("%s: no answer", k))
		case c != n:
			out = append(out, fmt.Sprintf("%s: %d", k, c))
		}
		return true
	})
	slices.Sort(out)
	return "members listed: " + strings.Join(out, ", ")
}

// noShedArgs are the agent flags of a scale run: no shedding of any kind
// the binary knows (--shed-queue-age is not in older builds).
func noShedArgs(bin string, profile string) []string {
	args := []string{"--gossip-profile", profile, "--log-level", "warn",
		"--max-instances-per-namespace", "0", "--shed-latency", "0"}
	help, _ := exec.Command(bin, "agent", "--help").CombinedOutput()
	if bytes.Contains(help, []byte("--shed-queue-age")) {
		args = append(args, "--shed-queue-age", "0")
	}
	return args
}
