package bench

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// rssBytes reads a process's resident set size from /proc (Linux only).
func rssBytes(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("bench: rss of %d: %w", pid, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// VmRSS:	  123456 kB
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("bench: rss of %d: %q: %w", pid, rest, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("bench: rss of %d: no VmRSS line", pid)
}

// rssAll reads the RSS of every pid; nil if any cannot be read.
func rssAll(pids []int) []int64 {
	out := make([]int64, len(pids))
	for i, pid := range pids {
		v, err := rssBytes(pid)
		if err != nil {
			return nil
		}
		out[i] = v
	}
	return out
}
