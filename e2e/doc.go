// Package e2e holds end-to-end tests that build the roster binary and run
// real `roster agent` processes on loopback, stopping each by its PID.
package e2e
