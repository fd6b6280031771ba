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

// LastBeats is the answer to GET /v1/instances/beats: when each ephemeral
// instance of a service last beat. Only the service's owner receives its
// beats, so the answering node asks the owner when it is not the owner
// itself. Owner says whether the times are the owner's; when the owner
// could not be asked, they are the answering node's (when it last received
// the instance's record) and OwnerError says why.
type LastBeats struct {
	Namespace string `json:"namespace"`
	Group     string `json:"group"`
	Service   string `json:"service"`
	// Node is the answering node; From is the node whose times these are.
	Node  string `json:"node"`
	From  string `json:"from"`
	Owner bool   `json:"owner"`
	// OwnerName and OwnerAddr name the owner, when known.
	OwnerName  string `json:"ownerName,omitempty"`
	OwnerAddr  string `json:"ownerAddr,omitempty"`
	OwnerError string `json:"ownerError,omitempty"`
	// Now is From's clock when it answered, in Unix milliseconds.
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
