package api

// InstanceBeat is one entry of LastBeats.
type InstanceBeat struct {
	Cluster string `json:"cluster"`
	IP      string `json:"ip"`
	Port    int    `json:"port"`
	// LastBeat is when the node last heard of the instance, in Unix
	// milliseconds.
	LastBeat int64 `json:"lastBeat"`
}

// LastBeats is the answer to GET /v1/instances/beats: when the answering
// node last heard of each ephemeral instance of a service. Only the
// service's owner receives its beats (Owner true); another node's times
// are when it last received the instance's record.
type LastBeats struct {
	Namespace string `json:"namespace"`
	Group     string `json:"group"`
	Service   string `json:"service"`
	// Node is the answering node; Owner says whether it owns the service.
	Node  string `json:"node"`
	Owner bool   `json:"owner"`
	// OwnerName and OwnerAddr name the owner, when known.
	OwnerName string `json:"ownerName,omitempty"`
	OwnerAddr string `json:"ownerAddr,omitempty"`
	// Now is the answering node's clock, in Unix milliseconds.
	Now       int64          `json:"now"`
	Instances []InstanceBeat `json:"instances"`
}

// Namespace is one entry of Namespaces.
type Namespace struct {
	Namespace string `json:"namespace"`
	Services  int    `json:"services"`
}

// Namespaces is the answer to GET /v1/namespaces: the namespaces that
// hold services (DefaultNamespace always), sorted by name.
type Namespaces struct {
	Namespaces []Namespace `json:"namespaces"`
}
