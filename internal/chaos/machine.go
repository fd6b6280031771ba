package chaos

import (
	"context"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/roster-io/roster/internal/agentproc"
)

// Other work on the machine. The overload scenario holds the nodes to
// answering its flood promptly, which only the nodes' own overload
// should be able to break; on a machine shared with other work a node
// can also be starved of CPU by processes that are not part of the run.
// WatchMachine reads, every second, the CPU the whole machine used
// (/proc/stat) and the CPU the run's own processes used (the harness and
// every live agent, /proc/PID/stat), and records the difference, the
// other work, in cores. The overload check does not hold a node to
// promptness in a second when other work used more than
// FloodOthersMax (checks_flood.go); the summary counts such seconds.
// Without /proc nothing is recorded, and nothing excused.

// MachineSample is the CPU that processes outside the run used from
// Since to T, in cores (1 = one core busy all the time).
type MachineSample struct {
	Since, T time.Time
	Others   float64
}

// clockTicks is USER_HZ, the unit of /proc's CPU times (100 on Linux).
const clockTicks = 100

// WatchMachine records the other work on the machine in h every second
// until ctx ends.
func WatchMachine(ctx context.Context, c *agentproc.Cluster, h *History) {
	prevAll, ok := machineTicks()
	if !ok {
		return
	}
	prevOurs := map[int]int64{}
	for _, pid := range ourPIDs(c) {
		prevOurs[pid], _ = procTicks(pid)
	}
	prevAt := time.Now()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		all, ok := machineTicks()
		if !ok {
			return
		}
		ours := int64(0)
		cur := map[int]int64{}
		for _, pid := range ourPIDs(c) {
			v, ok := procTicks(pid)
			if !ok {
				continue
			}
			cur[pid] = v
			if p, seen := prevOurs[pid]; seen {
				ours += v - p
			} else {
				ours += v // started within the second: all its CPU is of the run
			}
		}
		if el := now.Sub(prevAt).Seconds(); el > 0 {
			others := float64(all-prevAll-ours) / clockTicks / el
			h.AddMachine(MachineSample{Since: prevAt, T: now, Others: max(others, 0)})
		}
		prevAll, prevOurs, prevAt = all, cur, now
	}
}

// ourPIDs are the harness's and the live agents' process IDs.
func ourPIDs(c *agentproc.Cluster) []int {
	return append(c.PIDs(), os.Getpid())
}

// machineTicks is the CPU time all processes used (/proc/stat: every
// field of the cpu line but idle and iowait), in clock ticks.
func machineTicks() (int64, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0, false
	}
	var busy int64
	for i, v := range f[1:] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, false
		}
		if i == 3 || i == 4 || i >= 8 { // idle, iowait; guest time is already in user
			continue
		}
		busy += n
	}
	return busy, true
}

// procTicks is the CPU time (user and system) process pid used, in clock
// ticks.
func procTicks(pid int) (int64, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:]) // from field 3, state
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return u + st, true
}
