package agent

import (
	"fmt"

	"github.com/roster-io/roster/door/console"
)

// routeConsole mounts the web console (door/console) under /ui/, unless
// Config.NoUI turns it off.
func (a *Agent) routeConsole() error {
	if a.cfg.NoUI {
		return nil
	}
	c, err := console.New()
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	c.Routes(a.mux)
	return nil
}
