package bench

import (
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"
)

// TestCPULimit_holdsAProcessToItsQuota: a process spinning a whole core
// gets about 0.2 of one in a 0.2-core limit, and the limit's cgroup is
// gone after Close.
func TestCPULimit_holdsAProcessToItsQuota(t *testing.T) {
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		t.Skip("cgroups need Linux and root")
	}
	l, err := NewCPULimit(0.2)
	if err != nil {
		t.Fatalf("NewCPULimit: %v", err)
	}
	spin := exec.Command("sh", "-c", "while :; do :; done")
	if err := spin.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = spin.Process.Kill()
		_ = spin.Wait()
		if err := l.Close(); err != nil {
			t.Error(err)
		}
		if _, err := os.Stat(l.dir); !os.IsNotExist(err) {
			t.Errorf("the cgroup %s is still there after Close (%v)", l.dir, err)
		}
	}()
	if err := l.Add(spin.Process.Pid); err != nil {
		t.Fatal(err)
	}
	c0, err := cpuTime(spin.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	time.Sleep(time.Second)
	c1, err := cpuTime(spin.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if share := float64(c1-c0) / float64(time.Since(start)); share > 0.3 || share < 0.02 {
		t.Errorf("the spinning process used %.2f of a core in a 0.2-core limit", share)
	}
	if l.Throttled() <= 0 {
		t.Error("the kernel reports no throttling of a process spinning past its quota")
	}
}

func TestCPULimit_refusesNonsense(t *testing.T) {
	for _, cores := range []float64{0, -1, 0.001, 5000} {
		if _, err := NewCPULimit(cores); err == nil {
			t.Errorf("NewCPULimit(%v) did not fail", cores)
		}
	}
}
