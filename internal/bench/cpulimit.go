package bench

// A CPU limit for the --local agents: the agents share a fresh cgroup
// whose CPU quota is the limit (cgroup v2's cpu.max, or v1's
// cpu.cfs_quota_us), and may be pinned to a set of CPUs. On a small
// machine this is what lets a generator offer twice what the cluster
// can take and still keep its schedule: the cluster's capacity is the
// limit, not whatever the generator leaves over. Linux only; it needs
// write access to the cgroup filesystem (root, or a delegated
// subtree).

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// cfsPeriod is the quota's period. Shorter than the kernel's default of
// 100 ms, so a throttled agent stalls for a few milliseconds at a time,
// not for tens.
const cfsPeriod = 10 * time.Millisecond

// CPULimit holds the --local agents to Cores of CPU time, shared.
type CPULimit struct {
	dir   string // the cgroup's directory
	procs string // the file that takes PIDs
}

// cgroupRoots are where the cgroup filesystems are looked for.
var cgroupRoots = struct{ v2, v1 string }{"/sys/fs/cgroup", "/sys/fs/cgroup/cpu"}

// NewCPULimit makes a cgroup that holds its processes to cores CPUs'
// worth of time. Remove it with Close once its processes have exited.
func NewCPULimit(cores float64) (*CPULimit, error) {
	if cores < 0.01 || cores > 1024 {
		return nil, fmt.Errorf("bench: cpu limit %v is not in [0.01, 1024] cores", cores)
	}
	quota := int64(cores * float64(cfsPeriod/time.Microsecond))
	period := int64(cfsPeriod / time.Microsecond)
	name := fmt.Sprintf("roster-bench-%d-%d", os.Getpid(), time.Now().UnixNano())
	if _, err := os.Stat(filepath.Join(cgroupRoots.v2, "cgroup.controllers")); err == nil {
		return newCPULimitV2(filepath.Join(cgroupRoots.v2, name), quota, period)
	}
	if _, err := os.Stat(filepath.Join(cgroupRoots.v1, "cpu.cfs_quota_us")); err == nil {
		l := &CPULimit{dir: filepath.Join(cgroupRoots.v1, name)}
		l.procs = filepath.Join(l.dir, "cgroup.procs")
		if err := os.Mkdir(l.dir, 0o755); err != nil {
			return nil, fmt.Errorf("bench: cpu limit: %w", err)
		}
		err := errors.Join(write(filepath.Join(l.dir, "cpu.cfs_period_us"), strconv.FormatInt(period, 10)),
			write(filepath.Join(l.dir, "cpu.cfs_quota_us"), strconv.FormatInt(quota, 10)))
		return l.orClose(err)
	}
	return nil, errors.New("bench: cpu limit: no cgroup cpu controller found under /sys/fs/cgroup")
}

func newCPULimitV2(dir string, quota, period int64) (*CPULimit, error) {
	ctl, err := os.ReadFile(filepath.Join(cgroupRoots.v2, "cgroup.subtree_control"))
	if err != nil || !strings.Contains(string(ctl), "cpu") {
		if err := write(filepath.Join(cgroupRoots.v2, "cgroup.subtree_control"), "+cpu"); err != nil {
			return nil, fmt.Errorf("bench: cpu limit: enable the cpu controller: %w", err)
		}
	}
	l := &CPULimit{dir: dir, procs: filepath.Join(dir, "cgroup.procs")}
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("bench: cpu limit: %w", err)
	}
	return l.orClose(write(filepath.Join(dir, "cpu.max"), fmt.Sprintf("%d %d", quota, period)))
}

// orClose returns l, or err after removing l's cgroup.
func (l *CPULimit) orClose(err error) (*CPULimit, error) {
	if err != nil {
		_ = os.Remove(l.dir)
		return nil, fmt.Errorf("bench: cpu limit: %w", err)
	}
	return l, nil
}

// Add moves a process, with all its threads, into the cgroup.
func (l *CPULimit) Add(pid int) error {
	if err := write(l.procs, strconv.Itoa(pid)); err != nil {
		return fmt.Errorf("bench: cpu limit: add %d: %w", pid, err)
	}
	return nil
}

// Throttled is how long the kernel held the cgroup's processes back
// for want of quota so far.
func (l *CPULimit) Throttled() time.Duration {
	b, err := os.ReadFile(filepath.Join(l.dir, "cpu.stat"))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, " ")
		n, err := strconv.ParseInt(v, 10, 64)
		switch {
		case err != nil:
		case k == "throttled_usec": // v2
			return time.Duration(n) * time.Microsecond
		case k == "throttled_time": // v1, nanoseconds
			return time.Duration(n)
		}
	}
	return 0
}

// Close removes the cgroup. Its processes must have exited; it waits up
// to a second for the kernel to see them gone.
func (l *CPULimit) Close() error {
	var err error
	for i := 0; i < 20; i++ {
		if err = os.Remove(l.dir); err == nil || os.IsNotExist(err) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("bench: cpu limit: remove %s: %w", l.dir, err)
}

func write(path, s string) error {
	return os.WriteFile(path, []byte(s), 0o644)
}
