package chaos

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteTable prints the summary table of sums. "harness lateness" is the
// load generator's own worst delay in sending a beat, how many gaps in
// beating it caused (those stretches are not held to liveness) and the
// harness' own stalls (see Pace); it measures the machine, not roster.
func WriteTable(w io.Writer, sums []Summary) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tnodes\tinstances\tfaults\twrites acked\tfailed ops\tviolations\tworst convergence\tworst expiry lateness\tharness lateness\tnote")
	for _, s := range sums {
		if s.Skipped != "" {
			fmt.Fprintf(tw, "%s\t%d\t%d\t-\t-\t-\t-\t-\t-\t-\tSKIPPED: %s\n", s.Scenario, s.Nodes, s.Instances, s.Skipped)
			continue
		}
		var notes []string
		if s.Hostile > 0 {
			notes = append(notes, fmt.Sprintf("%d hostile requests/connections", s.Hostile))
		}
		if s.Intruders.Ran {
			notes = append(notes, intruderNote(s))
		}
		if s.Result.Removals > 0 {
			notes = append(notes, fmt.Sprintf("removal lateness from the last beat, past the delete timeout, over %d silent instances: p99 %s, max %s",
				s.Result.Removals, ms(s.Result.RemovalLatenessP99), ms(s.Result.RemovalLatenessMax)))
		}
		if s.Result.Flood.Ran {
			notes = append(notes, floodNote(s.Result.Flood))
		}
		if s.Result.BrakeHolds > 0 {
			notes = append(notes, fmt.Sprintf("%d expiry-brake holds, moving the deadlines of %d silent instances", s.Result.BrakeHolds, s.Result.BrakeMoved))
		}
		if s.Result.SlowestTakeover > 0 {
			notes = append(notes, "slowest takeover "+ms(s.Result.SlowestTakeover))
		}
		if s.Mechanism != "" {
			notes = append(notes, s.Mechanism)
		}
		harness := fmt.Sprintf("%s, %d gaps", ms(s.Result.WorstBeatLateness), s.Result.HarnessGaps)
		if s.Result.HarnessStalls > 0 {
			harness += fmt.Sprintf(", %d stalls (worst %s)", s.Result.HarnessStalls, ms(s.Result.WorstStall))
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\n", s.Scenario, s.Nodes, s.Instances, s.Faults,
			s.Acked, s.Failed, len(s.Result.Violations), ms(s.Result.WorstConvergence), ms(s.Result.WorstExpiryLateness),
			harness, strings.Join(notes, "; "))
	}
	tw.Flush()
}

func ms(d time.Duration) string { return d.Round(time.Millisecond).String() }

// intruderNote sums up the intruders for the note column.
func intruderNote(s Summary) string {
	i, r := s.Intruders, s.Result.Intruders
	note := fmt.Sprintf("%d amplifying reads (%d subscribing), worst RSS growth %s (%s); %d forged deltas: %d refused 4xx, %d future counted, %d unanswered",
		i.Reads, i.Subscribing, mib(r.WorstRSSGrowth), r.WorstRSSNode, r.Forged, r.ForgedRefused, r.FutureCounted, r.ForgedUnanswered)
	note += fmt.Sprintf("; ACL: %d bad-token requests, %d refused, %d changes", r.ACLAttempts, r.ACLRefused, r.ACLChanges)
	if i.Outsider != "" {
		return note + "; " + i.Outsider
	}
	return note + fmt.Sprintf("; outsider: %d readiness probes, %d member lists", r.OutsiderProbes, r.MemberPolls)
}
