package api

// MaxBatchInstances is the most instances one POST /v1/instances/batch may
// carry. The body is bounded too, by the node's --max-body.
const MaxBatchInstances = 1000

// BatchRegisterRequest is the body of POST /v1/instances/batch: the
// registrations of several instances, of any services and namespaces, each
// as POST /v1/instance takes it. No instance may appear twice.
type BatchRegisterRequest struct {
	Instances []Instance `json:"instances"`
}

// RegisterResult answers one registration of a BatchRegisterRequest, in
// order: the instance as stored, or the status and error a single
// registration would have got (say 409 when a limit refused it).
type RegisterResult struct {
	Instance *Instance `json:"instance,omitempty"`
	Status   int       `json:"status,omitempty"`
	Error    string    `json:"error,omitempty"`
}

// BatchRegisterReply is the answer to POST /v1/instances/batch: one result
// per instance, in order, and the node's change index after the writes.
type BatchRegisterReply struct {
	Results []RegisterResult `json:"results"`
	Index   uint64           `json:"index"`
}
