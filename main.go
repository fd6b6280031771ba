// Command roster runs a roster node (roster agent) and talks to one (roster
// register, deregister, list, services).
package main

import (
	"os"

	"github.com/roster-io/roster/cli"
)

func main() {
	os.Exit(cli.Run(os.Args))
}
