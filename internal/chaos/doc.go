// Package chaos breaks a real multi-process roster cluster on purpose and
// checks, from a recorded history, that the invariants of DESIGN.md hold.
//
// A run has three parts, in the manner of Jepsen: a cluster of `roster
// agent` processes (agentproc.Cluster: started and stopped by PID)
// that the scenario kills, restarts and partitions, on loopback or, for
// the partition, each in a network namespace of its own (Netns); simulated
// service instances (goroutines sharing one HTTP transport) that
// register, beat on a fixed schedule, deregister or fall silent and record
// every operation with when it was due, sent and answered; and an observer
// that polls every node's view every ~100 ms. Hostile clients run
// alongside, and Pace records the harness' own stalls. Everything lands in
// a History, and Check decides pass or fail from it alone, so the checker
// is tested on synthetic histories without starting processes.
package chaos
