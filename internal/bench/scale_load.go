package bench

// The scale mode's steady load: instances that beat every interval (each
// on the node it was registered on, spread over every node) and a fixed
// rate of writes (re-registrations that change an instance's weight, so
// that each is a real change every node must replicate). Both run on an
// open-loop schedule in ticks: an operation that finds every worker busy
// is counted as skipped, not queued, so the offered rate never drifts.

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roster-io/roster/peer"
)

// scaleLoad is a running load: beats, and writes once writing is set.
type scaleLoad struct {
	ok, failed, skipped atomic.Uint64
	writing             atomic.Bool
	cancel              context.CancelFunc
	wg                  sync.WaitGroup
	// beaters, if set, beat the instances instead of the schedule
	// (scale_loadgo.go); stop closes them.
	beaters *goBeaters
}

// loadTick is the load's scheduling step.
const loadTick = 50 * time.Millisecond

// loadShape is what startScaleLoad holds up.
type loadShape struct {
	urls      []string
	prefix    string
	instances int           // beating instances, registered first
	interval  time.Duration // their beat interval
	writeRate int           // writes per second
	workers   int
	// goBeats: the instances are beaten by Go clients (scale_loadgo.go),
	// not by the schedule.
	goBeats bool
	// registered marks the beating instances registered so far: the
	// load beats only those, so an instance beats from its registration
	// on, as a client does (nil: all are).
	registered []atomic.Bool
}

// beatService names the service of beating instance i (1,000 a service).
func (s loadShape) beatService(i int) string { return s.prefix + "b" + strconv.Itoa(i/1000) }

// registerWorkers bounds the concurrent registrations of the beating
// instances: each is a write every node applies, and on a machine whose
// cores N agents share, 192 at once left some waiting past the client's
// timeout without registering any faster.
const registerWorkers = 32

// registerBeating registers the beating instances with up to
// registerWorkers concurrent clients; they need no beat for two minutes, so a slow
// machine cannot expire them mid-run. A registration that fails (a
// timeout on a saturated machine) is tried again, up to three times in
// all, on the next node: registering is idempotent. It returns how many
// failed every time, how many were retried, and the last error.
func registerBeating(ctx context.Context, c *Client, s loadShape) (failed, retried int, last error) {
	md := beatMetadata(s.interval, 2*time.Minute, 3*time.Minute)
	var retries atomic.Int64
	failed, last = s.registerEach(ctx, min(s.workers, registerWorkers), func(i int) error {
		var err error
		for try := range 3 {
			if try > 0 {
				retries.Add(1)
			}
			url := s.urls[(i+try)%len(s.urls)]
			if err = c.Form(ctx, http.MethodPost, url, "/nacos/v1/ns/instance", registerForm(s.beatService(i), i, false, md)); err == nil || ctx.Err() != nil {
				break
			}
		}
		return err
	})
	return failed, int(retries.Load()), last
}

// registerEach calls reg for each beating instance, up to workers at
// once, and marks those it registered (s.registered); it returns how many
// failed and the last error.
func (s loadShape) registerEach(ctx context.Context, workers int, reg func(i int) error) (failed int, last error) {
	var next, errs atomic.Int64
	var mu sync.Mutex // guards last
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= s.instances {
					return
				}
				if err := reg(i); err != nil {
					errs.Add(1)
					mu.Lock()
					last = err
					mu.Unlock()
				} else if s.registered != nil {
					s.registered[i].Store(true)
				}
			}
		})
	}
	wg.Wait()
	return int(errs.Load()), last
}

// startScaleLoad starts beating the registered instances and writing at
// s.writeRate until stop.
func startScaleLoad(ctx context.Context, c *Client, s loadShape) *scaleLoad {
	ctx, cancel := context.WithCancel(ctx)
	l := &scaleLoad{cancel: cancel}
	jobs := make(chan func(context.Context) error, s.workers)
	for range s.workers {
		l.wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case job := <-jobs:
					if err := job(ctx); err == nil {
						l.ok.Add(1)
					} else if ctx.Err() == nil {
						l.failed.Add(1)
					}
				}
			}
		})
	}
	l.wg.Go(func() { l.schedule(ctx, c, s, jobs) })
	return l
}

// schedule hands out each tick's beats and writes.
func (l *scaleLoad) schedule(ctx context.Context, c *Client, s loadShape, jobs chan<- func(context.Context) error) {
	ticks := max(int(s.interval/loadTick), 1)
	perTick := (s.instances + ticks - 1) / ticks
	writesPerTick := float64(s.writeRate) * loadTick.Seconds()
	var owed float64
	beatAt, write := 0, 0
	t := time.NewTicker(loadTick)
	defer t.Stop()
	offer := func(job func(context.Context) error) {
		select {
		case jobs <- job:
		default:
			l.skipped.Add(1)
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for k := 0; k < perTick && s.instances > 0 && !s.goBeats; k++ {
			i := beatAt % s.instances
			beatAt++
			if s.registered != nil && !s.registered[i].Load() {
				continue
			}
			v := url.Values{"serviceName": {s.beatService(i)}, "namespaceId": {Namespace}, "ip": {instanceIP(i)}, "port": {"8080"}}
			base := s.urls[i%len(s.urls)]
			offer(func(ctx context.Context) error {
				_, _, err := c.Do(ctx, http.MethodPut, base+"/nacos/v1/ns/instance/beat", "application/x-www-form-urlencoded", v.Encode(), false)
				return err
			})
		}
		if !l.writing.Load() {
			continue
		}
		for owed += writesPerTick; owed >= 1; owed-- {
			w := write
			write++
			v := registerForm(s.prefix+"w"+strconv.Itoa(w%100), w%1000, false, longLived)
			v.Set("weight", strconv.Itoa(1+(w/1000)%9)) // each pass over the 1,000 changes every weight
			base := s.urls[w%len(s.urls)]
			offer(func(ctx context.Context) error {
				return c.Form(ctx, http.MethodPost, base, "/nacos/v1/ns/instance", v)
			})
		}
	}
}

// stop ends the load and waits for its goroutines.
func (l *scaleLoad) stop() {
	if l.beaters != nil {
		l.beaters.close()
	}
	l.cancel()
	l.wg.Wait()
}

// load registers the beating instances, then measures a window of beats
// and writes.
func (s *scaleRun) load(ctx context.Context) error {
	procs := s.lc.Live()
	shape := loadShape{urls: urls(procs), prefix: "bench-scale-" + runID() + "-", instances: s.cfg.Instances,
		interval: s.cfg.Interval, writeRate: s.cfg.WriteRate, workers: 192}
	// Each instance beats from its registration on: registering all
	// first left the early ones unheard for longer than 1.5 beat
	// intervals, and their owners reported them quiet, then resumed.
	shape.registered = make([]atomic.Bool, shape.instances)
	shape.goBeats = s.cfg.BeatClient == "go"
	if shape.goBeats {
		// The workers only write: 64 keep 500 writes a second going
		// while each takes up to 128 ms.
		shape.workers = 64
	}
	l := startScaleLoad(ctx, s.c, shape)
	defer l.stop()
	t0 := time.Now()
	stopProfile := s.profilePhase(ctx, procs[0], "register")
	stopProgress := s.registerProgress(ctx, shape.registered)
	failed, retried, err := s.register(ctx, l, shape)
	s.r.LoadRegisterS = time.Since(t0).Seconds()
	stopProgress()
	stopProfile() // waits for the profile's window: not in the figure
	s.r.LoadRegisterRetries = retried
	s.cfg.Progress("scale %d: %d registrations in %.1f s", s.cfg.Nodes, shape.instances-failed, s.r.LoadRegisterS)
	if failed > 0 {
		return fmt.Errorf("%d of %d registrations failed three times (last: %w)", failed, shape.instances, err)
	}
	l.writing.Store(true)
	// One beat round before measuring: every instance has beaten once.
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(s.cfg.Interval):
	}
	stopProfile = s.profilePhase(ctx, procs[0], "load")
	ok0 := l.ok.Load()
	w, err := measure(ctx, s.hc, procs, s.cfg.Load)
	ok1 := l.ok.Load() // before stopProfile, which waits for its window's end
	stopProfile()
	if err != nil {
		return err
	}
	s.r.ScrapeMissed += w.missed
	s.r.LoadOpsPerS = float64(ok1-ok0) / w.seconds
	s.r.LoadBytesPerNodePerS = w.bytesPerNode()
	s.r.LoadGossipBytesPerNodePerS = w.gossipPerNode()
	s.r.LoadPeerBytesPerNodePerS = w.peerPerNode()
	s.r.LoadCPUPerNode = w.cpuPerNode()
	s.r.LoadHeardBytesPerNodePerS = w.perNodeRate(w.kindBytes(peer.KindHeard))
	s.r.LoadDeltaBytesPerNodePerS = w.perNodeRate(w.kindBytes(peer.KindDeltas))
	s.r.LoadBeatBytesPerNodePerS = w.perNodeRate(w.kindBytes(peer.KindBeats))
	s.r.LoadRecordsSentPerS = w.sum.v[cRecordsSent] / w.seconds
	s.r.LoadBeatsPerS = w.sum.v[cBeatsIn] / w.seconds
	if rec := w.sum.v[cRecordsSent]; rec > 0 {
		s.r.BytesPerRecordSent = w.kindBytes(peer.KindDeltas) / rec
	}
	if beats := w.sum.v[cBeatsIn]; beats > 0 {
		s.r.HandedOffShare = w.sum.v[cHandedOff] / beats
	}
	if h := w.sum.v[cHandedOff]; h > 0 {
		s.r.BytesPerHandedOffBeat = w.kindBytes(peer.KindBeats) / h
	}
	s.r.FalseSuspicions += w.sum.v[cSuspicions]
	s.r.Refutations += w.sum.v[cRefutes]
	s.r.LoadRSSPerNodeMB, err = meanRSSMB(procs)
	l.stop()
	s.r.LoadFailed, s.r.LoadSkipped = l.failed.Load(), l.skipped.Load()
	return err
}
