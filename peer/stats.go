package peer

import "sync/atomic"

// Stats counts a transport's traffic; the node's metrics export it.
type Stats struct {
	HandoffBatches atomic.Uint64 // hand-off requests sent
	HandoffBeats   atomic.Uint64 // beats in them
	DeltaBatches   atomic.Uint64 // replication requests sent
	DeltaWrites    atomic.Uint64 // writes in them
	DeltaRecords   atomic.Uint64 // records in them
	DeltaFailures  atomic.Uint64 // replication requests that failed
	DeltaReceived  atomic.Uint64 // records received in replication requests
	DeltaApplied   atomic.Uint64 // of those, newer than what was held
	ClosesSent     atomic.Uint64 // connection closes sent (closes.go)
	ReadyHints     atomic.Uint64 // ready announcements received from peers
	// RecordsRefused counts the invalid records and handed-off beats
	// received from peers, in requests and in answers (validate.go); the
	// body holding them was refused whole.
	RecordsRefused atomic.Uint64
	// StreamConnects counts the peer streams this node opened;
	// StreamCalls the requests answered over them.
	StreamConnects atomic.Uint64
	StreamCalls    atomic.Uint64
	// StreamPingBytes counts the bytes of the pings this node wrote on
	// its peer streams, dialed and accepted (stream_ping.go).
	StreamPingBytes atomic.Uint64
	// BytesSent and BytesReceived count the bytes written to and read
	// from the connections this node opened to peers (requests and their
	// answers, HTTP framing and TLS included). Each internal connection
	// is counted once, by the node that dialed it.
	BytesSent     atomic.Uint64
	BytesReceived atomic.Uint64
	// Requests and BodyBytes count the internal requests this node sent
	// and the bytes of their bodies and of their answers' bodies (HTTP
	// framing not included), by Kind, over HTTP and over peer streams
	// alike.
	Requests  [NumKinds]atomic.Uint64
	BodyBytes [NumKinds]atomic.Uint64
	// HeardOwed is a gauge: the members whose copy of this node's
	// last-heard report was older than its current report after its last
	// ReportHeardTo (heard_plan.go); 0 once every change has reached
	// every member.
	HeardOwed atomic.Int64
}

// Kind classes internal requests for Stats.
type Kind int

// The kinds of internal requests.
const (
	KindDeltas      Kind = iota // replicated writes
	KindBeats                   // handed-off beats
	KindHeard                   // last-heard reports
	KindAntiEntropy             // digests, summaries, pulls and repairs
	KindSync                    // start-up dumps, ready announcements, beat-time queries
	KindLeases                  // connection leases
	NumKinds
)

// String names the kind, as the metrics label it.
func (k Kind) String() string {
	return [...]string{"deltas", "beats", "heard", "antientropy", "sync", "leases"}[k]
}
