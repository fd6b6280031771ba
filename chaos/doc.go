// Package chaos breaks a real multi-process roster cluster on purpose and
// checks, from a recorded history, that the invariants of DESIGN.md hold.
//
// A run has three parts, in the manner of Jepsen: a Cluster of `roster
// agent` processes on loopback that the scenario kills, restarts and
// partitions; simulated service instances (goroutines) that register,
// beat, deregister or fall silent and record every acknowledged write;
// and an observer that polls every node's view every ~100 ms. Everything
// lands in a History, and Check decides pass or fail from it alone, so
// the checker is tested on synthetic histories without starting processes.
package chaos
