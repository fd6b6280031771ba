package bench

import (
	"runtime"
	"sync"
	"syscall"
	"time"
)

// BurnCPU burns cores of CPU (at most 0.9 in all) until the returned
// func is called: a floor that costs the machine what a measured activity
// costs, in slices as fine as its own. Four goroutines, each on a thread
// of its own, wake every 500 µs and spin until their thread has used its
// share of the time since they started (at most 1 ms at once), so that
// burners descheduled by other work catch up, and four threads get the
// share of a busy machine's cores that a process of several threads does.
func BurnCPU(cores float64) (stop func()) {
	const threads = 4
	share := max(0, min(cores, 0.9)) / threads
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range threads {
		wg.Go(func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			start, cpu0 := time.Now(), threadCPU()
			tick := time.NewTicker(500 * time.Microsecond)
			defer tick.Stop()
			for {
				select {
				case <-done:
					return
				case <-tick.C:
				}
				owed := time.Duration(share*float64(time.Since(start))) - (threadCPU() - cpu0)
				for t0 := threadCPU(); threadCPU()-t0 < min(owed, time.Millisecond); {
				}
			}
		})
	}
	return func() { close(done); wg.Wait() }
}

// selfCPU is the user plus system CPU this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
