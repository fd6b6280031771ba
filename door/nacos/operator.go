package nacos

import (
	"cmp"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/roster-io/roster/door/gate"
	"github.com/roster-io/roster/internal/param"
	"github.com/roster-io/roster/node"
	"github.com/roster-io/roster/store"
)

// Operator views: servers and cluster nodes (Nacos' Member), push state,
// metrics, and a service's subscribers.

// memberJSON is Nacos' Member: address, state and extendInfo.
type memberJSON struct {
	IP            string         `json:"ip"`
	Port          int            `json:"port"`
	State         string         `json:"state"`
	ExtendInfo    map[string]any `json:"extendInfo"`
	Address       string         `json:"address"`
	FailAccessCnt int            `json:"failAccessCnt"`
}

// members returns the live members as Nacos shows them: UP when synced
// (in the ring), STARTING while a member syncs.
func (d *Door) members() []memberJSON {
	var out []memberJSON
	for _, m := range d.core.Members() {
		out = append(out, toMemberJSON(m))
	}
	return out
}

func toMemberJSON(m node.Member) memberJSON {
	host, port, _ := net.SplitHostPort(m.HTTPAddr)
	p, _ := strconv.Atoi(port)
	state := "UP"
	if !m.Ready {
		state = "STARTING"
	}
	return memberJSON{IP: host, Port: p, State: state, Address: m.HTTPAddr, ExtendInfo: map[string]any{
		"version": "roster", "name": m.Name, "gossipAddr": m.GossipAddr, "epoch": m.Epoch, "self": m.Self,
	}}
}

// servers handles GET operator/servers: {"servers":[members]}, only the
// UP ones with healthy=true.
func (d *Door) servers(w http.ResponseWriter, r *http.Request, p param.Values) error {
	healthy, err := param.Bool("healthy", p.Get("healthy"), false)
	if err != nil {
		return err
	}
	out := []memberJSON{}
	for _, m := range d.members() {
		if !healthy || m.State == "UP" {
			out = append(out, m)
		}
	}
	gate.WriteJSON(w, http.StatusOK, map[string]any{"servers": out})
	return nil
}

// clusterNodes handles GET /nacos/v1/core/cluster/nodes: the members whose
// address equals or starts with keyword, in Nacos' RestResult envelope.
func (d *Door) clusterNodes(w http.ResponseWriter, r *http.Request, p param.Values) error {
	kw := strings.TrimSpace(p.Get("keyword"))
	out := []memberJSON{}
	for _, m := range d.members() {
		if kw == "" || strings.HasPrefix(m.Address, kw) {
			out = append(out, m)
		}
	}
	gate.WriteJSON(w, http.StatusOK, restResult{Code: 200, Data: out})
	return nil
}

// pushState handles GET operator/push/state: {"succeed","total","ratio",
// "reset"} as Nacos counts them (succeed: pushes not failed), plus
// roster's acked, retried, failed and tooLarge counts.
func (d *Door) pushState(w http.ResponseWriter, r *http.Request, p param.Values) error {
	var c pushCounts
	if d.push != nil {
		c, _ = d.push.stats()
	}
	ratio := 0.0
	if c.Total > 0 {
		ratio = float64(c.Total-c.Failed) / float64(c.Total)
	}
	gate.WriteJSON(w, http.StatusOK, map[string]any{
		"succeed": c.Total - c.Failed, "total": c.Total, "ratio": ratio, "reset": false,
		"acked": c.Acked, "retried": c.Retried, "failed": c.Failed, "tooLarge": c.TooLarge,
	})
	return nil
}

// metrics handles GET operator/metrics; nacos-sdk-go checks status UP.
// cpu, load and mem are the machine's, as Nacos reports them (see
// procSampler).
func (d *Door) metrics(w http.ResponseWriter, r *http.Request, p param.Values) error {
	services, instances := d.core.Counts()
	services -= len(d.core.Services(systemNamespace, "")) // the door's own records
	status := "UP"
	if !d.core.Ready() {
		status = "DOWN"
	}
	subs := 0
	if d.push != nil {
		_, subs = d.push.stats()
	}
	owned, ownedInstances := d.responsible()
	fig := d.proc.sample(d.cfg.Now())
	gate.WriteJSON(w, http.StatusOK, map[string]any{
		"status": status, "serviceCount": services, "instanceCount": instances,
		"responsibleServiceCount": owned, "responsibleInstanceCount": ownedInstances,
		"subscribeCount": subs, "raftNotifyTaskCount": 0, "cpu": fig.cpu, "load": fig.load, "mem": fig.mem,
	})
	return nil
}

// responsible counts the services this node owns and their live
// instances.
func (d *Door) responsible() (services, instances int) {
	for _, k := range d.core.Store().AllServices() {
		if k.Namespace == systemNamespace {
			continue
		}
		if m, ok := d.core.Owner(k); ok && m.Self {
			services++
			instances += len(d.core.Snapshot(k).Instances)
		}
	}
	return services, instances
}

// subscriberJSON is Nacos' Subscriber.
type subscriberJSON struct {
	AddrStr     string `json:"addrStr"`
	Agent       string `json:"agent"`
	App         string `json:"app"`
	IP          string `json:"ip"`
	NamespaceID string `json:"namespaceId"`
	ServiceName string `json:"serviceName"`
	// Port and Cluster are Nacos 2.x's, set for gRPC subscribers only:
	// the UDP subscribers keep Nacos 1.4's shape.
	Port    *int    `json:"port,omitempty"`
	Cluster *string `json:"cluster,omitempty"`
}

// Subscriber is a subscription held by another door of this node (a
// Nacos 2.x client's over gRPC), as service/subscribers lists it: Addr is
// addrStr (the client's IP for a gRPC client, with no port), Agent the
// client's version, App its application name, Port 0 for a connection
// that is not pushed to over UDP, Cluster the clusters it asked for.
type Subscriber struct {
	Addr, Agent, App, IP string
	Port                 int
	Cluster              string
}

// SetSubscribers adds the subscriptions another door holds to
// service/subscribers: subs returns those to service k. Call it before
// the door serves.
func (d *Door) SetSubscribers(subs func(k store.Key) []Subscriber) { d.moreSubs = subs }

// subscribers handles GET service/subscribers: this node's subscribers of
// a service, UDP push subscribers and those of SetSubscribers (gRPC),
// paged (pageNo from 1, pageSize default 1000), {"subscribers":[...],
// "count":N}, ordered by address. aggregation is accepted; subscribers
// held by other nodes are not gathered (docs/nacos-api.md).
func (d *Door) subscribers(w http.ResponseWriter, r *http.Request, p param.Values) error {
	k, err := nacosKey(p)
	if err != nil {
		return err
	}
	if _, err := param.Bool("aggregation", p.Get("aggregation"), true); err != nil {
		return err
	}
	start, end, err := pageBounds(p, 1000)
	if err != nil {
		return err
	}
	var subs []pushSub
	if d.push != nil {
		subs = d.push.subscribers(k)
	}
	sortSubs(subs)
	all := make([]subscriberJSON, 0, len(subs))
	for _, s := range subs {
		all = append(all, subscriberJSON{AddrStr: s.addr.String(), Agent: s.agent, App: s.app,
			IP: s.addr.Addr().String(), NamespaceID: k.Namespace, ServiceName: k.Grouped()})
	}
	if d.moreSubs != nil {
		more := d.moreSubs(k)
		slices.SortFunc(more, func(a, b Subscriber) int {
			return cmp.Or(strings.Compare(a.Addr, b.Addr), strings.Compare(a.Cluster, b.Cluster), strings.Compare(a.Agent, b.Agent))
		})
		for _, s := range more {
			all = append(all, subscriberJSON{AddrStr: s.Addr, Agent: s.Agent, App: s.App, IP: s.IP,
				NamespaceID: k.Namespace, ServiceName: k.Grouped(), Port: &s.Port, Cluster: &s.Cluster})
		}
	}
	out := page(all, start, end)
	if out == nil {
		out = []subscriberJSON{}
	}
	gate.WriteJSON(w, http.StatusOK, map[string]any{"subscribers": out, "count": len(all)})
	return nil
}

// sortSubs orders subscriptions by address, then clusters.
func sortSubs(subs []pushSub) {
	slices.SortFunc(subs, func(a, b pushSub) int {
		if c := a.addr.Compare(b.addr); c != 0 {
			return c
		}
		return strings.Compare(a.clusters, b.clusters)
	})
}
