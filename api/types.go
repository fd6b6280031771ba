package api

// Instance is an instance as the native API carries it: the body of a
// registration, a beat or an update, and each entry of a list. Pointer
// fields are optional in requests (nil: the server's default); the server
// always fills them in answers. The timings are in milliseconds.
type Instance struct {
	Namespace       string            `json:"namespace,omitempty"`
	Group           string            `json:"group,omitempty"`
	Service         string            `json:"service"`
	Cluster         string            `json:"cluster,omitempty"`
	IP              string            `json:"ip"`
	Port            int               `json:"port"`
	InstanceID      string            `json:"instanceId,omitempty"`
	Weight          *float64          `json:"weight,omitempty"`
	Healthy         *bool             `json:"healthy,omitempty"`
	Enabled         *bool             `json:"enabled,omitempty"`
	Ephemeral       *bool             `json:"ephemeral,omitempty"`
	Metadata        map[string]string `json:"metadata,omitempty"`
	BeatIntervalMs  int64             `json:"beatIntervalMs,omitempty"`
	BeatTimeoutMs   int64             `json:"beatTimeoutMs,omitempty"`
	DeleteTimeoutMs int64             `json:"deleteTimeoutMs,omitempty"`
}

// List is the answer to GET /v1/instances: one service's instances and its
// change index (also in the IndexHeader header).
type List struct {
	Namespace string     `json:"namespace"`
	Group     string     `json:"group"`
	Service   string     `json:"service"`
	Index     uint64     `json:"index"`
	Instances []Instance `json:"instances"`
}

// ServiceSummary is one entry of GET /v1/services.
type ServiceSummary struct {
	Group     string `json:"group"`
	Service   string `json:"service"`
	Instances int    `json:"instances"`
	Healthy   int    `json:"healthy"`
}

// Services is the answer to GET /v1/services.
type Services struct {
	Namespace string           `json:"namespace"`
	Index     uint64           `json:"index"`
	Services  []ServiceSummary `json:"services"`
}

// Member is one entry of GET /v1/cluster/members.
type Member struct {
	Name       string `json:"name"`
	HTTPAddr   string `json:"httpAddr"`
	GossipAddr string `json:"gossipAddr"`
	State      string `json:"state"` // StateAlive, StateSyncing or StateLeaving
	Epoch      int64  `json:"epoch"`
	Partitions int    `json:"partitions"`
	Services   int    `json:"services"`
	// Connections and ConnInstances: the Nacos 2.x client connections
	// the member holds that have instances registered through them, and
	// those instances, as the registry records them (every instance
	// bound to a connection names its holder). A connection that only
	// subscribes is not counted here; the member's own
	// roster_grpc_connections metric counts every connection.
	Connections   int  `json:"connections"`
	ConnInstances int  `json:"connInstances"`
	Self          bool `json:"self,omitempty"`
}

// Members is the answer to GET /v1/cluster/members: the members as the
// answering node (Self) sees them, and the parameters and version of its
// ring, so a client can tell when the ring table it holds is stale.
type Members struct {
	Self    string   `json:"self"`
	Members []Member `json:"members"`
	Ring    RingInfo `json:"ring"`
}

// Owner is the answer to GET /v1/cluster/owner?service=&group=&namespace=.
// OwnerAddr is empty when the node runs alone (it owns everything) or its
// ring has no members yet.
type Owner struct {
	Namespace string `json:"namespace"`
	Group     string `json:"group"`
	Service   string `json:"service"`
	Key       string `json:"key"`
	Partition int    `json:"partition"`
	Owner     string `json:"owner"`
	OwnerAddr string `json:"ownerAddr,omitempty"`
}
