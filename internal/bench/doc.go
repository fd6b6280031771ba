// Package bench drives a roster cluster and measures it: the load
// generators behind `roster bench` (register, read, beat, lag, detect),
// a bare net/http "floor" server that calibrates what the generator itself
// can push on this machine, latency recording and percentiles, a launcher
// for a local cluster of real `roster agent` processes, and table and JSON
// output.
//
// Every throughput is reported in absolute terms and, when a floor was
// measured in the same run, as a ratio to it: on a small shared machine the
// generator competes with the cluster for the same cores, so the ratio is
// the figure that carries from one machine to another.
//
// All traffic goes to the addresses the caller names; the launcher and the
// floor server bind 127.0.0.1 only. Every run is bounded in time.
package bench
