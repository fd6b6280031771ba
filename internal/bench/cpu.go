package bench

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Agent CPU per operation: the figure that survives a noisy machine. The
// throughput of a run on shared cores depends on what else runs; the CPU
// the agents spend per operation barely does. It is read from
// /proc/<pid>/stat (user plus system time of every thread) before and
// after the measured window, summed over the agents of a --local cluster.

// UnitMicros is the unit of CPU-per-operation figures.
const UnitMicros = "µs"

// clockTick is the unit of /proc/<pid>/stat times (USER_HZ, 100 on every
// Linux architecture Go supports).
const clockTick = 10 * time.Millisecond

// cpuTime returns the user plus system CPU time process pid has used.
func cpuTime(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("bench: cpu of %d: %w", pid, err)
	}
	return parseStatCPU(string(data))
}

// parseStatCPU reads utime and stime (fields 14 and 15) of a
// /proc/<pid>/stat line. The command name (field 2) is in parentheses
// and may itself hold spaces and parentheses, so fields are counted from
// the last ')'.
func parseStatCPU(line string) (time.Duration, error) {
	i := strings.LastIndexByte(line, ')')
	if i < 0 {
		return 0, fmt.Errorf("bench: cpu: no command name in %q", line)
	}
	f := strings.Fields(line[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("bench: cpu: %d fields after the command name, want at least 13", len(f))
	}
	var total int64
	for _, s := range f[11:13] {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v < 0 {
			return 0, fmt.Errorf("bench: cpu: field %q is not a tick count", s)
		}
		total += v
	}
	return time.Duration(total) * clockTick, nil
}

// cpuMeter measures the CPU a set of processes used over a window.
type cpuMeter struct {
	pids   []int
	before time.Duration
	at     time.Time
	ok     bool
}

// startCPU reads the agents' CPU now; without PIDs (a cluster given by
// --addrs) the meter measures nothing.
func startCPU(env *Env) *cpuMeter {
	m := &cpuMeter{}
	if env.PIDs == nil {
		return m
	}
	m.pids = env.PIDs()
	m.before, m.ok = sumCPU(m.pids)
	m.at = time.Now()
	return m
}

// sumCPU adds up the CPU time of pids; false if any cannot be read.
func sumCPU(pids []int) (time.Duration, bool) {
	var sum time.Duration
	for _, pid := range pids {
		v, err := cpuTime(pid)
		if err != nil {
			return 0, false
		}
		sum += v
	}
	return sum, len(pids) > 0
}

// report adds the agents' CPU per operation (ops done in the window) and
// the cores they used on average to r, naming the operation what.
func (m *cpuMeter) report(r *Report, what string, ops int) {
	if !m.ok {
		return
	}
	after, ok := sumCPU(m.pids)
	elapsed := time.Since(m.at)
	if !ok || elapsed <= 0 {
		r.Notef("could not read the agents' CPU time after the run")
		return
	}
	used := after - m.before
	if ops > 0 {
		r.Add("agent CPU per "+what, float64(used)/float64(time.Microsecond)/float64(ops), UnitMicros)
	}
	r.Add("agent CPU, cores", used.Seconds()/elapsed.Seconds(), "cores")
}
