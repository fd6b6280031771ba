package cli

import (
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/roster-io/roster/internal/bench"
)

// limitAgents puts the --local agents under --agent-cpu-limit, if set.
func (s *benchSetup) limitAgents(c *cli.Context) error {
	cores := c.Float64("agent-cpu-limit")
	if cores == 0 {
		return nil
	}
	l, err := bench.NewCPULimit(cores)
	if err != nil {
		return err
	}
	s.limit = l
	for _, pid := range s.local.PIDs() {
		if err := l.Add(pid); err != nil {
			return err
		}
	}
	fmt.Fprintf(c.App.ErrWriter, "bench: the agents share %v cores of CPU time\n", cores)
	return nil
}

// closeLimit removes the agents' cgroup once they have stopped, saying
// how long the kernel held them back.
func (s *benchSetup) closeLimit(w io.Writer) {
	if s.limit == nil {
		return
	}
	fmt.Fprintf(w, "bench: the agents were throttled for %.1f s in all\n", s.limit.Throttled().Seconds())
	if err := s.limit.Close(); err != nil {
		fmt.Fprintf(w, "bench: %v\n", err)
	}
}
