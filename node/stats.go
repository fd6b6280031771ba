package node

import "sync/atomic"

// stats counts what the core does; the metrics collector (metrics.go)
// exports it at scrape time and Stats returns a copy.
type stats struct {
	beatsReceived     atomic.Uint64 // client beats that reached this node
	handoffFailures   atomic.Uint64 // beats handled here because the owner could not be reached
	expiredUnhealthy  atomic.Uint64 // instances this node marked unhealthy
	expiredRemoved    atomic.Uint64 // instances this node removed
	aeEqual           atomic.Uint64 // anti-entropy exchanges that found both sides equal
	aeRepaired        atomic.Uint64 // exchanges that found differing partitions
	aeFailed          atomic.Uint64 // exchanges that failed
	aePartitions      atomic.Uint64 // partitions found differing and repaired
	aeDeferred        atomic.Uint64 // differing partitions whose differences were all deltas in flight
	aeCompared        atomic.Uint64 // differing partitions whose summaries were compared
	aeSummarized      atomic.Uint64 // summary entries compared, both sides
	futureRefused     atomic.Uint64 // records from peers stamped further ahead than MaxClockSkew
	writesUnconfirmed atomic.Uint64 // client writes no peer confirmed in time, kept here
	expiryLate        lateHist      // how late expiry transitions became visible
}

// Stats is a copy of a node's counters, for tests and tools.
type Stats struct {
	BeatsReceived, HandoffFailures   uint64
	ExpiredUnhealthy, ExpiredRemoved uint64
	AEEqual, AERepaired, AEFailed    uint64
	AEPartitions, AEDeferred         uint64
	AECompared, AESummarized         uint64
	HandoffBatches, HandoffBeats     uint64
	DeltaBatches, DeltaWrites        uint64
	DeltaRecords                     uint64
	DeltaFailures, DeltaReceived     uint64
	DeltaApplied, ReadyHints         uint64
	ClosesSent                       uint64
	RecordsFromTheFuture             uint64
	WritesUnconfirmed                uint64
	StreamConnects, StreamCalls      uint64
	ExpiryLateP50, ExpiryLateP99     int64 // nanoseconds, bucket upper edges
	ExpiryLateMax                    int64
	ExpiryLateCount                  uint64
}

// Stats returns a copy of the node's and its transport's counters.
func (n *Node) Stats() Stats {
	s, t := &n.stats, n.peers.Stats()
	return Stats{
		BeatsReceived: s.beatsReceived.Load(), HandoffFailures: s.handoffFailures.Load(),
		ExpiredUnhealthy: s.expiredUnhealthy.Load(), ExpiredRemoved: s.expiredRemoved.Load(),
		AEEqual: s.aeEqual.Load(), AERepaired: s.aeRepaired.Load(), AEFailed: s.aeFailed.Load(),
		AEPartitions: s.aePartitions.Load(), AEDeferred: s.aeDeferred.Load(),
		AECompared: s.aeCompared.Load(), AESummarized: s.aeSummarized.Load(),
		HandoffBatches: t.HandoffBatches.Load(), HandoffBeats: t.HandoffBeats.Load(),
		DeltaBatches: t.DeltaBatches.Load(), DeltaWrites: t.DeltaWrites.Load(), DeltaRecords: t.DeltaRecords.Load(),
		DeltaFailures: t.DeltaFailures.Load(), DeltaReceived: t.DeltaReceived.Load(),
		DeltaApplied: t.DeltaApplied.Load(), ReadyHints: t.ReadyHints.Load(), ClosesSent: t.ClosesSent.Load(),
		RecordsFromTheFuture: s.futureRefused.Load(), WritesUnconfirmed: s.writesUnconfirmed.Load(),
		StreamConnects: t.StreamConnects.Load(), StreamCalls: t.StreamCalls.Load(),
		ExpiryLateP50: int64(s.expiryLate.quantile(0.5)), ExpiryLateP99: int64(s.expiryLate.quantile(0.99)),
		ExpiryLateMax: int64(s.expiryLate.quantile(1)), ExpiryLateCount: s.expiryLate.count(),
	}
}
