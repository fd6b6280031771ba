package chaos

import "context"

// ownFlows are the scenarios that run a flow of their own instead of the
// beating workload: they hold persistent instances, not ephemeral ones,
// so neither the simulated instances nor the checker of their history
// apply. Each returns its summary with the violations it found.
var ownFlows = map[string]func(ctx context.Context, name string, cfg Config) Summary{
	"blackout":   runBlackout,
	"checkowner": runCheckOwner,
}

// findingViolations turns what the cluster saw directly (a node that
// exited on its own, a graceful stop that hung) into violations.
func findingViolations(h *History) []Violation {
	var out []Violation
	for _, f := range h.snapshot().findings {
		out = append(out, Violation{Invariant: f.What, T: f.T, Node: f.Node, Detail: f.Detail})
	}
	return out
}
