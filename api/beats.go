package api

// MaxBatchBeats is the most beats one PUT /v1/beats may carry.
const MaxBatchBeats = 1000

// HeaderBeatsLate, on PUT /v1/beats, tells the node how many
// milliseconds the batch's oldest beat left the client after it was
// due (it waited in the client for a busy node). A node that is itself
// overloaded then holds its expiries (its expiry brake). Optional.
const HeaderBeatsLate = "X-Roster-Beats-Late-Ms"

// MaxBeatsLateMs bounds HeaderBeatsLate: a day.
const MaxBeatsLateMs = 86_400_000

// BeatsRequest is the body of PUT /v1/beats: light beats of several
// instances (each names namespace, group, service, cluster, ip and port;
// other fields are ignored).
type BeatsRequest struct {
	Beats []Instance `json:"beats"`
}

// BeatResult answers one beat of a BeatsRequest, in order: the interval
// the client should keep, or the error a single beat would have got
// (Status 404: the instance is unknown and should be registered again).
type BeatResult struct {
	BeatIntervalMs int64  `json:"beatIntervalMs,omitempty"`
	Status         int    `json:"status,omitempty"`
	Error          string `json:"error,omitempty"`
}

// BeatsReply is the answer to PUT /v1/beats.
type BeatsReply struct {
	Results []BeatResult `json:"results"`
}
