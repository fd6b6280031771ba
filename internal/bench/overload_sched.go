package bench

import (
	"bytes"
	"container/heap"
	"context"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// overloadRun is what the schedulers of one overload run share.
type overloadRun struct {
	ctx                  context.Context
	cfg                  BeatConfig
	hosts                []string
	pipes                []*pipe
	prefix               string
	md                   map[string]string
	start, beatFrom, end time.Time
	// state[i] is instance i's: must register, registering (a client
	// beats only once its registration answered) or registered.
	state []atomic.Int32
	// period[i] is instance i's beat period in ns when a beat answer's
	// clientBeatInterval set it (closed loop), 0 for the Interval.
	period      []atomic.Int64
	outstanding sync.WaitGroup
}

// inWindow reports whether t is in the measured window.
func (r *overloadRun) inWindow(t time.Time) bool {
	return !t.Before(r.beatFrom) && t.Before(r.end)
}

// scheduler sends the operations of the instances i ≡ s (mod conns) on
// connection s: every Interval whatever happened (open loop), or, as
// Nacos clients do, an Interval after the last operation of the instance
// ended (closed loop; next brings them back from the answers).
type scheduler struct {
	r    *overloadRun
	s    int
	t    *overloadTally
	q    opHeap
	next chan beatOp // closed loop: an instance's next operation
}

func newScheduler(r *overloadRun, s int, t *overloadTally) *scheduler {
	conns := len(r.pipes)
	sc := &scheduler{r: r, s: s, t: t, next: make(chan beatOp, r.cfg.Instances/conns+1)}
	regSlot := float64(r.cfg.Ramp) / float64(r.cfg.Instances)
	for i := s; i < r.cfg.Instances; i += conns {
		sc.q = append(sc.q, beatOp{due: r.start.Add(time.Duration(float64(i) * regSlot)), i: i})
	}
	heap.Init(&sc.q)
	return sc
}

// run sends every operation when due until the run's end.
func (sc *scheduler) run() {
	r := sc.r
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for r.ctx.Err() == nil {
		sc.drain()
		if sc.q.Len() == 0 {
			if !time.Now().Before(r.end) {
				return
			}
			timer.Reset(time.Until(r.end))
			select {
			case <-r.ctx.Done():
			case <-timer.C:
			case op := <-sc.next:
				heap.Push(&sc.q, op)
			}
			continue
		}
		op := sc.q[0]
		if !op.due.Before(r.end) {
			heap.Pop(&sc.q)
			continue
		}
		if time.Since(r.end) > r.cfg.Interval {
			return // a period behind at the end: stop, the report says so
		}
		if d := time.Until(op.due); d > 0 {
			timer.Reset(d)
			select {
			case <-r.ctx.Done():
				return
			case <-timer.C:
			case op := <-sc.next:
				heap.Push(&sc.q, op)
				continue
			}
		}
		heap.Pop(&sc.q)
		if r.cfg.OpenLoop {
			heap.Push(&sc.q, beatOp{due: op.due.Add(r.cfg.Interval), i: op.i, round: op.round + 1})
		}
		sc.do(op)
	}
}

// drain moves the operations the answers brought back into the queue.
func (sc *scheduler) drain() {
	for {
		select {
		case op := <-sc.next:
			heap.Push(&sc.q, op)
		default:
			return
		}
	}
}

// again schedules instance op.i's next operation an Interval after at,
// in the closed loop; the open loop scheduled it already.
func (sc *scheduler) again(op beatOp, at time.Time) {
	if !sc.r.cfg.OpenLoop {
		p := time.Duration(sc.r.period[op.i].Load())
		if p <= 0 {
			p = sc.r.cfg.Interval
		}
		sc.next <- beatOp{due: at.Add(p), i: op.i, round: op.round + 1}
	}
}

// do registers or beats op's instance.
func (sc *scheduler) do(op beatOp) {
	switch sc.r.state[op.i].Load() {
	case registering:
		return
	case mustRegister:
		sc.register(op)
		return
	}
	b := &beatTry{sc: sc, op: op, t0: time.Now(), measured: !op.due.Before(sc.r.beatFrom),
		form: url.Values{"serviceName": {sc.service(op.i)}, "namespaceId": {Namespace}, "ip": {instanceIP(op.i)}, "port": {"8080"}}.Encode()}
	b.try(sc.s, len(sc.r.hosts)-1)
	if b.measured { // once the pipe took it
		sc.t.mu.Lock()
		sc.t.late = append(sc.t.late, max(time.Since(op.due), 0))
		sc.t.mu.Unlock()
	}
}

func (sc *scheduler) service(i int) string {
	return sc.r.prefix + strconv.Itoa(i%sc.r.cfg.Services)
}

// register sends op's instance's registration; until it is answered the
// instance does not beat.
func (sc *scheduler) register(op beatOp) {
	r, t, i := sc.r, sc.t, op.i
	r.state[i].Store(registering)
	raw := formRequest("POST", r.hosts[sc.s%len(r.hosts)], "/nacos/v1/ns/instance", registerForm(sc.service(i), i, false, r.md).Encode())
	r.outstanding.Add(1)
	err := r.pipes[sc.s].send(raw, func(a pipeAnswer) {
		defer r.outstanding.Done()
		defer sc.again(op, time.Now())
		t.mu.Lock()
		defer t.mu.Unlock()
		switch {
		case a.Err == nil && a.Status == 200:
			t.regs++
			r.state[i].Store(registered)
			return
		case a.Err == nil && a.Status == 429:
			t.regShed++
		default:
			t.regErrs++
			t.firstErr = firstOf(t.firstErr, answerErr(a))
		}
		r.state[i].Store(mustRegister)
	})
	if err != nil {
		r.outstanding.Done()
	}
}

// beatTry is one beat of an instance: tried on one node, and after a 429
// (or, in the closed loop, no answer within the timeout) on the next,
// up to once per node, as nacos-sdk-go tries each server in turn.
type beatTry struct {
	sc       *scheduler
	op       beatOp
	t0       time.Time
	form     string
	measured bool
}

// try sends the beat on connection c; left is how many more nodes it may
// try after this one.
func (b *beatTry) try(c, left int) {
	r, t := b.sc.r, b.sc.t
	raw := formRequest("PUT", r.hosts[c%len(r.hosts)], "/nacos/v1/ns/instance/beat", b.form)
	sent := time.Now()
	var ended atomic.Bool // answered or given up: whichever comes first counts
	var timer *time.Timer
	if !r.cfg.OpenLoop && r.cfg.Timeout > 0 {
		timer = time.AfterFunc(r.cfg.Timeout, func() {
			if ended.CompareAndSwap(false, true) {
				b.failed(c, left, true)
			}
		})
	}
	if r.inWindow(sent) {
		t.mu.Lock()
		t.tries++
		t.mu.Unlock()
	}
	r.outstanding.Add(1)
	err := r.pipes[c].send(raw, func(a pipeAnswer) {
		defer r.outstanding.Done()
		if timer != nil {
			timer.Stop()
		}
		if !ended.CompareAndSwap(false, true) {
			t.mu.Lock()
			t.afterGiveUp++
			t.mu.Unlock()
			return
		}
		b.answered(c, left, a, sent)
	})
	if err != nil {
		r.outstanding.Done()
	}
}

// answered handles the answer to the try on connection c.
func (b *beatTry) answered(c, left int, a pipeAnswer, sent time.Time) {
	r, t := b.sc.r, b.sc.t
	t1 := time.Now()
	t.mu.Lock()
	if a.Err == nil && (a.Status == 200 || a.Status == 429) {
		sec := int64(t1.Sub(r.start) / time.Second)
		tl := t.timeline[sec]
		if a.Status == 200 {
			tl[0]++
		} else {
			tl[1]++
		}
		t.timeline[sec] = tl
	}
	switch {
	case a.Err == nil && a.Status == 200:
		if p := clientBeatInterval(a.Body); p > 0 {
			r.period[b.op.i].Store(int64(p)) // as Nacos clients adopt it
		}
		if strings.Contains(string(a.Body), `"code":20404`) {
			t.notFound++
			r.state[b.op.i].Store(mustRegister)
		}
		if r.inWindow(t1) { // goodput: the beats answered within the window
			t.beats++
			t.perSecond[int64(t1.Sub(r.beatFrom)/time.Second)]++
		}
		if b.measured {
			t.lat = append(t.lat, t1.Sub(b.t0))
			t.admitted = append(t.admitted, t1.Sub(sent))
		}
	case a.Err == nil && a.Status == 429:
		if r.inWindow(t1) {
			t.shed++
		}
		t.mu.Unlock()
		b.failed(c, left, false)
		return
	default:
		if b.measured && r.ctx.Err() == nil {
			t.errs++
			t.firstErr = firstOf(t.firstErr, answerErr(a))
		}
	}
	t.mu.Unlock()
	b.sc.again(b.op, t1)
}

// failed moves on after a 429 or a timeout on connection c: to the next
// node while any is left, else to the instance's next period.
func (b *beatTry) failed(c, left int, timedOut bool) {
	t := b.sc.t
	t.mu.Lock()
	if timedOut && b.measured {
		t.timeouts++
	}
	if left > 0 {
		t.retried++
		t.mu.Unlock()
		// Not from the reader: a send may block.
		go b.try((c+1)%len(b.sc.r.pipes), left-1)
		return
	}
	t.mu.Unlock()
	b.sc.again(b.op, time.Now())
}

// clientBeatInterval is the clientBeatInterval of a Nacos beat answer,
// or 0 if it has none.
func clientBeatInterval(body []byte) time.Duration {
	const key = `"clientBeatInterval":`
	i := bytes.Index(body, []byte(key))
	if i < 0 {
		return 0
	}
	rest := body[i+len(key):]
	n := 0
	for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	ms, err := strconv.Atoi(string(rest[:n]))
	if err != nil {
		return 0
	}
	return time.Duration(ms) * time.Millisecond
}
