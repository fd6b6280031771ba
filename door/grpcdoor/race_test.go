//go:build race

package grpcdoor_test

// manyConns is how many connections TestDoor_thousandConnectionsOpenedAndDropped
// opens; the race detector slows each about tenfold, so it opens fewer.
const manyConns = 200
