//go:build chaosbroken

package node

// takeoverGrace is off in the chaos suite's deliberately broken build
// (`make chaos-broken`): a new owner sweeps with the stale last-beat times
// it holds (Nacos issue #1873), which the suite must catch. Never ship a
// binary built with -tags chaosbroken.
const takeoverGrace = false
