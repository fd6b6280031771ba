package api

// MaxBatchBeats is the most beats one PUT /v1/beats may carry.
const MaxBatchBeats = 1000

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
