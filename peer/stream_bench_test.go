package peer

import (
	"context"
	"sync"
	"syscall"
	"testing"
	"time"
)

// BenchmarkReplicate measures one replicated write's round trip to one
// peer (a delta of one record, acknowledged) over HTTP requests and over
// the stream, with 64 writers at once, and reports the process's CPU time
// per write (both sides: sender and receiver run in this process).
// Run: go test -run '^$' -bench Replicate -benchtime 20000x ./peer/
func BenchmarkReplicate(b *testing.B) {
	for _, mode := range []struct {
		name   string
		stream bool
	}{{"http", false}, {"stream", true}} {
		b.Run(mode.name, func(b *testing.B) {
			p := newStreamPair(b, []byte("cluster-secret"), false, false)
			if !mode.stream {
				p.tr.Close()
				cfg := p.tr.cfg
				cfg.Stream = false
				tr, err := New(cfg)
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(tr.Close)
				tr.SetMembers([]Member{p.m})
				p.tr = tr
			} else {
				p.waitStream(b)
			}
			rec := sampleRecords(1)[:1]
			var wg sync.WaitGroup
			work := make(chan struct{})
			failed := 0
			var mu sync.Mutex
			for range 64 {
				wg.Go(func() {
					for range work {
						if !p.tr.Broadcast(rec).First(context.Background(), 5*time.Second) {
							mu.Lock()
							failed++
							mu.Unlock()
						}
					}
				})
			}
			before := cpuTime()
			b.ResetTimer()
			for range b.N {
				work <- struct{}{}
			}
			close(work)
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64((cpuTime()-before).Microseconds())/float64(b.N), "cpu-µs/op")
			if failed > 0 {
				b.Fatalf("%d of %d writes not acknowledged", failed, b.N)
			}
		})
	}
}

// cpuTime returns the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
