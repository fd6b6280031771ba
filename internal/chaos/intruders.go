package chaos

import (
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/roster-io/roster/internal/agentproc"
)

// Intruders: three actors aimed at defects that a client, a peer or a
// stranger could cause, each leaving its observations in the history for
// checks_intruders.go. They run during the hostile scenario, and, with
// Config.Intruders, at the short scale during any scenario on loopback.
//
//   - the amplifier (amplify.go): memory-amplifying list reads and UDP
//     push subscriptions, with every agent's resident memory sampled;
//   - the forger (forge.go): a forged or buggy peer's records;
//   - the outsider (below): an agent with another --gossip-key pointed at
//     the cluster's seeds, whose join they refuse.

// OutsiderName is the --name of the agent with another gossip key.
const OutsiderName = "outsider"

// OutsiderExited is OutsiderObs.Status once the outsider has exited.
const OutsiderExited = -1

// IntruderScale sizes the intruders.
type IntruderScale struct {
	// WideInstances and WideMetaBytes size WideService: its persistent
	// instances and the metadata bytes of each.
	WideInstances, WideMetaBytes int
	// ReadsPerSec is the amplifier's pace; each read's clusters filter
	// adds PadNames names of ~500 bytes; every SubEvery-th read
	// subscribes instead.
	ReadsPerSec, PadNames, SubEvery int
	// ForgeEvery is the forger's pace.
	ForgeEvery time.Duration
}

// FullIntruders is the hostile scenario's scale, ShortIntruders the one
// of Config.Intruders.
var (
	FullIntruders  = IntruderScale{WideInstances: 200, WideMetaBytes: 1000, ReadsPerSec: 60, PadNames: 16, SubEvery: 4, ForgeEvery: time.Second}
	ShortIntruders = IntruderScale{WideInstances: 100, WideMetaBytes: 1000, ReadsPerSec: 40, PadNames: 16, SubEvery: 4, ForgeEvery: 1500 * time.Millisecond}
)

// IntruderCounts is what the intruders did.
type IntruderCounts struct {
	Ran                bool
	Reads, Subscribing int    // amplifying reads, of which subscribing
	Outsider           string // why the outsider did not run its course ("" if it did)
	ACL                string // what the ACL prober did
}

// intruders runs the intruders against r's cluster until ctx ends.
func (r *run) intruders(ctx context.Context, sc IntruderScale, seed uint64) IntruderCounts {
	counts := IntruderCounts{Ran: true}
	var wg sync.WaitGroup
	wg.Go(func() { sampleRSS(ctx, r.c, r.h, 500*time.Millisecond) })
	wg.Go(func() {
		rng := rand.New(rand.NewPCG(seed, 0xa3f))
		wide := registerWide(ctx, r.c, sc.WideInstances, sc.WideMetaBytes, rng)
		r.logf("intruders: %d of %d %s instances registered; amplifying reads begin", wide, sc.WideInstances, WideService)
		counts.Reads, counts.Subscribing = amplify(ctx, r.c, sc.ReadsPerSec, sc.PadNames, sc.SubEvery, rng)
	})
	wg.Go(func() { forge(ctx, r.c, r.h, sc.ForgeEvery, rand.New(rand.NewPCG(seed, 0xf09))) })
	wg.Go(func() { counts.Outsider = r.outsider(ctx, seed) })
	wg.Go(func() { counts.ACL = r.aclProbe(ctx, seed) })
	wg.Wait()
	pollForged(r.c, r.h)
	return counts
}

// outsider starts an agent with a gossip key of its own, joining the
// live nodes' gossip addresses (which have none, so they refuse it), and
// until ctx ends records its /readyz every 500 ms and, every second, the
// member list of every live node; then stops it by PID. It returns a
// note for the summary.
func (r *run) outsider(ctx context.Context, seed uint64) string {
	rng := rand.New(rand.NewPCG(seed, 0x0d1))
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(rng.IntN(256))
	}
	var seeds []string
	for _, p := range r.c.Live() {
		seeds = append(seeds, p.Gossip)
	}
	args := append(agentArgs(r.cfg.LogLevel, r.cfg.LogDir != "", false), "--gossip-key", base64.StdEncoding.EncodeToString(key))
	spec := agentproc.Spec{Bin: r.cfg.Bin, Name: OutsiderName, Join: seeds, Args: args}
	if r.cfg.LogDir != "" {
		if f, err := os.Create(filepath.Join(r.cfg.LogDir, r.name, OutsiderName+".log")); err == nil {
			defer f.Close() // after the stop below
			spec.Log = f
		}
	}
	p, err := agentproc.Start(ctx, spec)
	if err != nil {
		if ctx.Err() == nil {
			r.h.AddFinding(Finding{T: time.Now(), Node: OutsiderName, What: "harness", Detail: fmt.Sprintf("outsider did not start: %v", err)})
		}
		return "outsider did not start"
	}
	defer p.Stop(syscall.SIGKILL, 5*time.Second)
	r.logf("intruders: %s (another --gossip-key) started, pid %d, seeds %v", OutsiderName, p.PID(), seeds)
	for i := 0; i < 100000; i++ {
		if p.Exited() {
			r.h.AddOutsider(OutsiderObs{T: time.Now(), Node: OutsiderName, Readyz: true, Status: OutsiderExited})
			r.logf("intruders: %s exited on its own (%s):\n%s", OutsiderName, p.State(), p.Tail(2000))
			return "outsider exited"
		}
		code, _, err := do(http.MethodGet, p.HTTP, "/readyz", nil, nil, time.Second)
		if err != nil {
			code = 0
		}
		r.h.AddOutsider(OutsiderObs{T: time.Now(), Node: OutsiderName, Readyz: true, Status: code})
		if i%2 == 1 {
			r.pollMembers()
		}
		if !sleepCtx(ctx, 500*time.Millisecond) {
			break
		}
	}
	return ""
}

// pollMembers records the member names every live node lists.
func (r *run) pollMembers() {
	for _, q := range r.c.Live() {
		n, err := api(q)
		if err != nil {
			continue
		}
		ms, err := n.Members(context.Background())
		if err != nil {
			continue
		}
		o := OutsiderObs{T: time.Now(), Node: q.Name, Status: 200}
		for _, m := range ms {
			o.Members = append(o.Members, m.Name)
		}
		r.h.AddOutsider(o)
	}
}
