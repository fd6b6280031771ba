package nacos

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The machine figures of operator/metrics, as Nacos 1.4 reports them
// (EnvUtil): cpu is the share of the machine's CPU time spent busy (0 to
// 1) since the previous sample (since boot for the first), load the
// one-minute load average, and mem the share of physical memory in use
// (1 - MemAvailable/MemTotal). They are read from /proc; where there is
// no /proc (not Linux) they are 0.

// procFigures are one sample.
type procFigures struct {
	cpu, load, mem float64
}

// procSampler keeps the previous CPU counters. It is safe for concurrent
// use.
type procSampler struct {
	root string // "/proc"; tests point it elsewhere

	mu         sync.Mutex
	busy, all  uint64 // CPU counters at the previous sample
	last       time.Time
	lastFigure float64
}

func newProcSampler() *procSampler { return &procSampler{root: "/proc"} }

// minCPUWindow is the shortest window a new CPU share is measured over;
// samples closer together repeat the previous share.
const minCPUWindow = 100 * time.Millisecond

// sample returns the current figures.
func (s *procSampler) sample(now time.Time) procFigures {
	f := procFigures{load: s.loadAvg(), mem: s.memUsed()}
	busy, all, ok := s.cpuCounters()
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case !ok:
	case s.all == 0 || now.Sub(s.last) >= minCPUWindow:
		if d := all - s.all; all > s.all && d > 0 {
			s.lastFigure = float64(busy-s.busy) / float64(d)
		}
		s.busy, s.all, s.last = busy, all, now
	}
	f.cpu = min(max(s.lastFigure, 0), 1)
	return f
}

// cpuCounters reads the busy and total jiffies of the "cpu" line of
// /proc/stat (idle and iowait count as not busy).
func (s *procSampler) cpuCounters() (busy, all uint64, ok bool) {
	b, err := os.ReadFile(s.root + "/stat")
	if err != nil {
		return 0, 0, false
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	fields := strings.Fields(string(line))
	if len(fields) < 5 || fields[0] != "cpu" {
		return 0, 0, false
	}
	for i, v := range fields[1:] {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return 0, 0, false
		}
		all += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, all, true
}

// loadAvg reads the one-minute load average.
func (s *procSampler) loadAvg() float64 {
	b, err := os.ReadFile(s.root + "/loadavg")
	if err != nil {
		return 0
	}
	first, _, _ := strings.Cut(string(b), " ")
	v, err := strconv.ParseFloat(first, 64)
	if err != nil {
		return 0
	}
	return v
}

// memUsed reads the share of physical memory in use.
func (s *procSampler) memUsed() float64 {
	f, err := os.Open(s.root + "/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	var total, avail float64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, rest, _ := strings.Cut(sc.Text(), ":")
		v, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
		if err != nil {
			continue
		}
		switch key {
		case "MemTotal":
			total = v
		case "MemAvailable":
			avail = v
		}
	}
	if total <= 0 || avail > total {
		return 0
	}
	return 1 - avail/total
}
