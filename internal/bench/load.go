package bench

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Op is one operation of a closed-loop load: op number i, issued by
// worker w. It returns an error when the operation failed.
type Op func(ctx context.Context, w, i int) error

// Load describes a closed-loop load: Workers goroutines each issue one
// operation after another until Ops operations were started (if Ops > 0)
// or Duration has passed (if Duration > 0), whichever comes first.
type Load struct {
	Workers  int
	Ops      int
	Duration time.Duration
}

// Result is what a load measured.
type Result struct {
	Ops       int           // operations that succeeded
	Errors    int           // operations that failed
	FirstErr  error         // the first failure, if any
	Elapsed   time.Duration // from the first operation to the last answer
	LastAck   time.Time     // when the last successful operation returned
	Latencies Latencies     // of the successful operations, sorted
}

// Rate returns successful operations per second.
func (r Result) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Ops) / r.Elapsed.Seconds()
}

// Run drives op under the load l and returns the result. It stops early
// when ctx ends. It never returns before every worker has returned.
func (l Load) Run(ctx context.Context, op Op) Result {
	workers := max(l.Workers, 1)
	if l.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, l.Duration)
		defer cancel()
	}
	var (
		next atomic.Int64
		wg   sync.WaitGroup
		mu   sync.Mutex // guards res, lats
		res  Result
		lats = make([]Latencies, workers)
	)
	start := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine Latencies
			var ok, bad int
			var firstErr error
			var lastAck time.Time
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if l.Ops > 0 && i >= l.Ops {
					break
				}
				t0 := time.Now()
				err := op(ctx, w, i)
				t1 := time.Now()
				if err != nil {
					if ctx.Err() != nil {
						break // cut off by the deadline: neither success nor failure
					}
					bad++
					if firstErr == nil {
						firstErr = err
					}
					continue // one failure is a figure, not an abort
				}
				ok++
				lastAck = t1
				mine = append(mine, t1.Sub(t0))
			}
			mu.Lock()
			defer mu.Unlock()
			lats[w] = mine
			res.Ops += ok
			res.Errors += bad
			if res.FirstErr == nil {
				res.FirstErr = firstErr
			}
			if lastAck.After(res.LastAck) {
				res.LastAck = lastAck
			}
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.Latencies = NewLatencies(lats...)
	return res
}
