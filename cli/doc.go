// Package cli implements the roster command line: `roster agent`, which runs
// a node, and the client commands (register, deregister, list, services),
// which talk to a node through its native JSON API under /v1/.
//
// Every command writes to the writers handed to NewApp, so tests capture its
// output. Only the agent and `roster run` (which must deregister before its
// program stops) handle signals. Exit codes: 0 success, 1 failure
// (including any error the server reports), 2 a mistake on the command line.
package cli
