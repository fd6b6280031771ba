package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"
)

// Exit codes returned by Run.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// NewApp builds the roster command line application. Normal output goes to
// out; logs, errors and diagnostics go to errOut. The app never calls
// os.Exit on an error (only the agent does, on a second signal); use Run to
// turn its result into an exit code.
func NewApp(out, errOut io.Writer) *cli.App {
	return newApp(out, errOut, agentHooks{})
}

// Run runs the roster command line with args (os.Args, program name first),
// writing to os.Stdout and os.Stderr, and returns the process exit code:
// 0 on success, 1 on failure, 2 on a command line mistake.
func Run(args []string) int {
	return execute(context.Background(), NewApp(os.Stdout, os.Stderr), args)
}

// newApp is NewApp with the agent's test hooks.
func newApp(out, errOut io.Writer, hooks agentHooks) *cli.App {
	app := &cli.App{
		Name:  "roster",
		Usage: "a peer-to-peer service registry",
		Description: "roster keeps a registry of service instances on every node of a cluster.\n" +
			"Run 'roster agent' to start a node; the other commands talk to a running node.",
		Writer:      out,
		ErrWriter:   errOut,
		HideVersion: true,
		// The slice flags split on commas themselves where that makes sense
		// (--join); metadata values may contain commas.
		DisableSliceFlagSeparator: true,
		Commands: []*cli.Command{
			agentCommand(hooks),
			registerCommand(),
			deregisterCommand(),
			instanceCommand(),
			listCommand(),
			servicesCommand(),
			membersCommand(),
			ownerCommand(),
			benchCommand(),
			runCommand(),
			watchCommand(),
			keygenCommand(),
			snapshotCommand(),
			aclCommand(),
		},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return badUsage(c, fmt.Errorf("unknown command %q", c.Args().First()))
			}
			return cli.ShowAppHelp(c)
		},
		OnUsageError: onUsageError,
		// Errors are reported by execute, never by exiting the process.
		ExitErrHandler: func(*cli.Context, error) {},
	}
	var setUsage func(cmds []*cli.Command)
	setUsage = func(cmds []*cli.Command) {
		for _, cmd := range cmds {
			cmd.OnUsageError = onUsageError
			setUsage(cmd.Subcommands)
		}
	}
	setUsage(app.Commands)
	return app
}

// execute runs app with args and reports any error on app.ErrWriter,
// returning the exit code.
func execute(ctx context.Context, app *cli.App, args []string) int {
	err := app.RunContext(ctx, args)
	if err == nil {
		return exitOK
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(app.ErrWriter, "%s: %v\nRun '%s --help' for usage.\n", ue.command, ue.err, ue.command)
		return exitUsage
	}
	var ec cli.ExitCoder
	if errors.As(err, &ec) {
		if msg := ec.Error(); msg != "" {
			fmt.Fprintf(app.ErrWriter, "roster: %s\n", msg)
		}
		return ec.ExitCode()
	}
	fmt.Fprintf(app.ErrWriter, "roster: %v\n", err)
	return exitFailure
}

// usageError is a mistake on the command line; execute exits 2 for it and
// points at the command's help.
type usageError struct {
	command string // e.g. "roster list"
	err     error
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// badUsage wraps err as a usage error of the command running in c.
func badUsage(c *cli.Context, err error) error {
	name := "roster"
	if c.Command != nil && c.Command.HelpName != "" {
		name = c.Command.HelpName
	}
	return &usageError{command: name, err: err}
}

// onUsageError turns urfave's flag parsing errors into usage errors, so they
// go to errOut instead of printing the whole help text to out.
func onUsageError(c *cli.Context, err error, _ bool) error {
	return badUsage(c, err)
}
