package chaos

import (
	"os"
	"runtime"
	"testing"
	"time"
)

// TestMachineTicks: on Linux the machine's and a process's CPU times are
// read from /proc, and the process's grow while it computes, as do the
// machine's, by at least as much.
func TestMachineTicks(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	all0, ok1 := machineTicks()
	own0, ok2 := procTicks(os.Getpid())
	if !ok1 || !ok2 {
		t.Fatalf("machineTicks ok %v, procTicks ok %v; want both read", ok1, ok2)
	}
	// Compute until the process has used 10 ticks more (on a loaded
	// machine that takes longer), at most 20 s. The machine's counters
	// (/proc/stat, per-CPU tick sampling) may lag the process's own
	// (/proc/PID/stat, exact run time) by about a tick per CPU: a few
	// ticks' growth can show in the process before the machine.
	x, own1 := 0, own0
	for end := time.Now().Add(20 * time.Second); own1 < own0+10 && time.Now().Before(end); own1, _ = procTicks(os.Getpid()) {
		for i := range 1000000 {
			x += i
		}
	}
	all1, _ := machineTicks()
	if own1 <= own0 {
		t.Errorf("process CPU ticks %d then %d (x=%d); want growth after computing", own0, own1, x)
	}
	if lag := int64(runtime.NumCPU() + 1); all1-all0 < own1-own0-lag {
		t.Errorf("machine CPU grew by %d ticks, the process alone by %d (allowing %d for sampling)", all1-all0, own1-own0, lag)
	}
	if _, ok := procTicks(1 << 30); ok {
		t.Error("procTicks of a process that does not exist: want not ok")
	}
}
