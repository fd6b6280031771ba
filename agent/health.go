package agent

import (
	"fmt"

	"github.com/roster-io/roster/health"
)

// newHealth builds the server-side health checker (package health),
// driven by the node's ownership; Start starts it.
func (a *Agent) newHealth() error {
	hc := a.cfg.HealthCheck
	hc.Logger = a.cfg.Logger
	c, err := health.New(hc, a.node)
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	for _, col := range c.Collectors() {
		if err := a.reg.Register(col); err != nil {
			return fmt.Errorf("agent: metrics: %w", err)
		}
	}
	a.health = c
	return nil
}
