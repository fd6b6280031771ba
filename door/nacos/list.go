package nacos

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/cespare/xxhash/v2"
	"github.com/roster-io/roster/door/gate"
	"github.com/roster-io/roster/internal/param"
	"github.com/roster-io/roster/store"
)

// GET /nacos/v1/ns/instance/list answers from the service's snapshot. The
// encoded body is cached on the snapshot per (clusters, healthyOnly), so a
// repeated read is a map lookup and a write of cached bytes; lastRefTime
// is the snapshot's modification time, which keeps the bytes stable.

// nacosHost is one entry of hosts[].
type nacosHost struct {
	IP          string            `json:"ip"`
	Port        int               `json:"port"`
	Valid       bool              `json:"valid"`
	Healthy     bool              `json:"healthy"`
	Marked      bool              `json:"marked"`
	InstanceID  string            `json:"instanceId"`
	Metadata    map[string]string `json:"metadata"`
	Enabled     bool              `json:"enabled"`
	Weight      float64           `json:"weight"`
	ClusterName string            `json:"clusterName"`
	ServiceName string            `json:"serviceName"`
	Ephemeral   bool              `json:"ephemeral"`
}

// nacosServiceInfo is the body of instance/list.
type nacosServiceInfo struct {
	Name                     string            `json:"name"`
	GroupName                string            `json:"groupName"`
	Dom                      string            `json:"dom"`
	Clusters                 string            `json:"clusters"`
	CacheMillis              int64             `json:"cacheMillis"`
	LastRefTime              int64             `json:"lastRefTime"`
	Checksum                 string            `json:"checksum"`
	UseSpecifiedURL          bool              `json:"useSpecifiedURL"`
	AllIPs                   bool              `json:"allIPs"`
	ReachProtectionThreshold bool              `json:"reachProtectionThreshold"`
	Valid                    bool              `json:"valid"`
	Env                      string            `json:"env"`
	Metadata                 map[string]string `json:"metadata"`
	Hosts                    []nacosHost       `json:"hosts"`
}

// list handles GET instance/list.
func (d *Door) list(w http.ResponseWriter, r *http.Request, p param.Values) error {
	k, err := nacosKey(p)
	if err != nil {
		return err
	}
	clusters := p.Get("clusters")
	filter, err := splitClusters(clusters)
	if err != nil {
		return err
	}
	healthyOnly, err := param.Bool("healthyOnly", p.Get("healthyOnly"), false)
	if err != nil {
		return err
	}
	udpPort, err := param.Int("udpPort", p.Get("udpPort"), 0, 0, 65535)
	if err != nil {
		return err
	}
	snap := d.core.Snapshot(k)
	if udpPort > 0 && d.push != nil {
		d.push.subscribe(k, clusters, healthyOnly, r.RemoteAddr, udpPort, snap.Index, d.cfg.Now())
	}
	cacheKey := "nacos|" + strconv.FormatBool(healthyOnly) + "|" + clusters
	body := snap.Cached(cacheKey, func() []byte {
		return d.encodeList(snap, clusters, filter, healthyOnly)
	})
	gate.WriteJSONBytes(w, http.StatusOK, body)
	return nil
}

// selectHosts applies Nacos' rules to a snapshot: the cluster filter, the
// protect threshold (when the healthy share of the selected instances is
// at or below it, every instance is returned marked healthy), healthyOnly,
// and disabled instances never listed.
func selectHosts(snap *store.Snapshot, filter map[string]bool, healthyOnly bool) (hosts []*store.Instance, healthy []bool, protected bool) {
	var all []*store.Instance
	nHealthy := 0
	for _, in := range snap.Instances {
		if filter != nil && !filter[in.Cluster] {
			continue
		}
		all = append(all, in)
		if in.Healthy {
			nHealthy++
		}
	}
	if len(all) == 0 {
		return nil, nil, false
	}
	protected = float64(nHealthy)/float64(len(all)) <= snap.Info.ProtectThreshold
	for _, in := range all {
		h := in.Healthy || protected
		if !in.Enabled || (healthyOnly && !h) {
			continue
		}
		hosts = append(hosts, in)
		healthy = append(healthy, h)
	}
	return hosts, healthy, protected
}

// encodeNacosList builds the instance/list body for a snapshot.
func (d *Door) encodeList(snap *store.Snapshot, clusters string, filter map[string]bool, healthyOnly bool) []byte {
	k := snap.Key
	hosts, healthy, protected := selectHosts(snap, filter, healthyOnly)
	out := nacosServiceInfo{
		Name:                     k.Grouped(),
		GroupName:                k.Group,
		Dom:                      k.Grouped(),
		Clusters:                 clusters,
		CacheMillis:              d.cfg.CacheMillis,
		LastRefTime:              snap.Modified.UnixMilli(),
		ReachProtectionThreshold: protected,
		Valid:                    true,
		Metadata:                 nonNil(snap.Info.Metadata),
		Hosts:                    make([]nacosHost, 0, len(hosts)),
	}
	if snap.Modified.IsZero() {
		out.LastRefTime = d.cfg.Now().UnixMilli()
	}
	for i, in := range hosts {
		out.Hosts = append(out.Hosts, nacosHost{
			IP: in.IP, Port: in.Port, Valid: healthy[i], Healthy: healthy[i],
			InstanceID: in.ID(k), Metadata: nonNil(in.Metadata), Enabled: in.Enabled, Weight: in.Weight,
			ClusterName: in.Cluster, ServiceName: k.Grouped(), Ephemeral: in.Ephemeral,
		})
	}
	hostBytes, _ := json.Marshal(out.Hosts)
	out.Checksum = strconv.FormatUint(xxhash.Sum64(hostBytes), 16)
	b, err := json.Marshal(out)
	if err != nil {
		d.cfg.Logger.Error("encode instance list", "service", k.String(), "err", err)
		return []byte(`{"hosts":[]}`)
	}
	return b
}
