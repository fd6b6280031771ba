package chaos

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// WriteTable prints the summary table of sums.
func WriteTable(w io.Writer, sums []Summary) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tnodes\tinstances\tfaults\twrites acked\tfailed ops\tviolations\tworst convergence\tworst expiry lateness\tnote")
	for _, s := range sums {
		if s.Skipped != "" {
			fmt.Fprintf(tw, "%s\t%d\t%d\t-\t-\t-\t-\t-\t-\tSKIPPED: %s\n", s.Scenario, s.Nodes, s.Instances, s.Skipped)
			continue
		}
		note := s.Mechanism
		if s.Hostile > 0 {
			note = fmt.Sprintf("%d hostile requests/connections", s.Hostile)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\n", s.Scenario, s.Nodes, s.Instances, s.Faults,
			s.Acked, s.Failed, len(s.Result.Violations), ms(s.Result.WorstConvergence), ms(s.Result.WorstExpiryLateness), note)
	}
	tw.Flush()
}

func ms(d time.Duration) string { return d.Round(time.Millisecond).String() }
