package bench

import (
	"runtime"
	"syscall"
	"time"
)

// burnCPU spins on one goroutine for cores of CPU (at most 0.9 of one
// core), a slice of CPU time every 500 µs, until the returned func is
// called: a floor that costs the machine what a measured activity costs,
// in slices as fine as its own. The slices are measured in the thread's
// CPU time, so that a burner descheduled by other work still burns its
// share.
func burnCPU(cores float64) (stop func()) {
	slice := time.Duration(max(0, min(cores, 0.9)) * float64(500*time.Microsecond))
	done := make(chan struct{})
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tick := time.NewTicker(500 * time.Microsecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			for t0 := threadCPU(); threadCPU()-t0 < slice; {
			}
		}
	}()
	return func() { close(done); <-ended }
}

// selfCPU is the user plus system CPU this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
