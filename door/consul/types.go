package consul

// The JSON shapes of Consul's HTTP API that the door answers, with the
// field names of Consul's own (github.com/hashicorp/consul/api), so
// Consul's clients decode them unchanged. Fields roster has nothing for
// are left at their zero values.

// weights are Consul's service weights.
type weights struct {
	Passing int
	Warning int
}

// catalogNode is a Consul catalog node: here, an instance's host.
type catalogNode struct {
	ID              string
	Node            string
	Address         string
	Datacenter      string
	TaggedAddresses map[string]string
	Meta            map[string]string
	CreateIndex     uint64
	ModifyIndex     uint64
}

// catalogService is one entry of /v1/catalog/service/<name>.
type catalogService struct {
	ID                       string
	Node                     string
	Address                  string
	Datacenter               string
	TaggedAddresses          map[string]string
	NodeMeta                 map[string]string
	ServiceID                string
	ServiceName              string
	ServiceAddress           string
	ServiceTags              []string
	ServiceMeta              map[string]string
	ServicePort              int
	ServiceWeights           weights
	ServiceEnableTagOverride bool
	CreateIndex              uint64
	ModifyIndex              uint64
	Namespace                string
	Partition                string
}

// agentService is the service part of a health entry.
type agentService struct {
	ID                string
	Service           string
	Tags              []string
	Meta              map[string]string
	Port              int
	Address           string
	Weights           weights
	EnableTagOverride bool
	CreateIndex       uint64
	ModifyIndex       uint64
	Namespace         string
	Partition         string
	Datacenter        string
}

// healthCheck is one check of a health entry.
type healthCheck struct {
	Node        string
	CheckID     string
	Name        string
	Status      string
	Notes       string
	Output      string
	ServiceID   string
	ServiceName string
	ServiceTags []string
	Type        string
	Namespace   string
	Partition   string
	CreateIndex uint64
	ModifyIndex uint64
}

// serviceEntry is one entry of /v1/health/service/<name>.
type serviceEntry struct {
	Node    catalogNode
	Service agentService
	Checks  []healthCheck
}

// Check states, as Consul spells them.
const (
	statusPassing  = "passing"
	statusCritical = "critical"
)
