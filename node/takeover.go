//go:build !chaosbroken

package node

// takeoverGrace is the new-owner grace of docs/design.md: a node that
// gains partitions gives their instances a full fresh timeout before it
// sweeps them. It is always on; the chaos suite's deliberately broken
// build (-tags chaosbroken, takeover_broken.go) turns it off to prove the
// suite notices.
const takeoverGrace = true
