//go:build race

package store

// raceEnabled is true when the race detector is on; slow tests shrink.
const raceEnabled = true
