package peer

import (
	"time"

	"github.com/roster-io/roster/store"
)

// Member is the address of one other node: its name, where it serves
// HTTP (the internal API included) and gossip, and its boot epoch.
type Member struct {
	Name       string
	GossipAddr string
	HTTPAddr   string
	Epoch      int64
}

// BeatCall is one handed-off beat.
type BeatCall struct {
	Key      store.Key         `json:"key"`
	Instance store.InstanceKey `json:"instance"`
	// Register, when set, re-registers the instance if it is unknown.
	Register *store.Instance `json:"register,omitempty"`
}

// BeatAnswer is the owner's answer to one beat.
type BeatAnswer struct {
	Found      bool   `json:"found"`
	IntervalMs int64  `json:"intervalMs"`
	Error      string `json:"error,omitempty"`
	Status     int    `json:"status,omitempty"` // HTTP status of Error
	// Stale is set when the owner refused the hand-off as too old to act
	// on (see server.go); the sender then handles the beat itself.
	Stale bool `json:"stale,omitempty"`
}

// Interval returns the beat interval the owner answered.
func (a BeatAnswer) Interval() time.Duration { return time.Duration(a.IntervalMs) * time.Millisecond }

// beatsRequest is the body of POST /internal/v1/beats. Sent is the
// sender's clock (unix nanoseconds) when it sent the request.
type beatsRequest struct {
	Beats []BeatCall `json:"beats"`
	Sent  int64      `json:"sent,omitempty"`
}

// beatsReply answers it, one answer per beat in order.
type beatsReply struct {
	Answers []BeatAnswer `json:"answers"`
}

// deltasRequest is the body of POST /internal/v1/deltas.
type deltasRequest struct {
	Records []store.Record `json:"records"`
	// Repair marks records pushed by anti-entropy rather than replicated
	// writes; they do not count in the replication metrics.
	Repair bool `json:"repair,omitempty"`
}

// deltasReply answers it.
type deltasReply struct {
	Applied int `json:"applied"`
}

// dumpReply is the body of GET /internal/v1/dump.
type dumpReply struct {
	Records []store.Record `json:"records"`
}

// digestRequest is the body of POST /internal/v1/digest.
type digestRequest struct {
	Root uint64 `json:"root"`
}

// digestReply answers it: Equal, or the peer's digests (little-endian
// uint64s, base64 in JSON).
type digestReply struct {
	Equal   bool   `json:"equal"`
	Digests []byte `json:"digests,omitempty"`
}

// pullRequest is the body of POST /internal/v1/pull: the records of the
// partitions, or with IDs (little-endian uint64s, base64 in JSON) only
// those records of them.
type pullRequest struct {
	Partitions []int  `json:"partitions"`
	IDs        []byte `json:"ids,omitempty"`
}

// summaryRequest is the body of POST /internal/v1/summary.
type summaryRequest struct {
	Partitions []int `json:"partitions"`
}

// summaryReply answers it: one encoded summary per partition asked for,
// in order (store.AppendSummary).
type summaryReply struct {
	Summaries [][]byte `json:"summaries"`
}
