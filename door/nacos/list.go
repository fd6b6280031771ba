package nacos

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/cespare/xxhash/v2"
	"github.com/roster-io/roster/door/gate"
	"github.com/roster-io/roster/internal/param"
	"github.com/roster-io/roster/store"
)

// GET /nacos/v1/ns/instance/list answers from the service's snapshot. The
// encoded body is cached on the snapshot, so a repeated read is a map
// lookup and a write of cached bytes; lastRefTime is the snapshot's
// modification time, which keeps the bytes stable.
//
// The cache key is canonical: it names what the body lists, not how the
// client spelled its filter. The clusters filter is reduced to the
// service's own clusters, sorted and without duplicates, so however many
// spellings clients send, a snapshot holds at most one body per set of its
// clusters (and the snapshot caps that too, store.MaxCachedBodies). The
// body echoes clusters as sent, as Nacos does: a request whose spelling is
// not the canonical one gets the cached body with its own spelling in the
// clusters field.

// listKeys are the cache keys of list bodies for one cacheMillis, by
// healthyOnly (0 false, 1 true): every cluster, none of them (a filter
// naming only clusters the service does not have), and the prefix of a
// set of clusters. cacheMillis is part of the key because the body
// carries it: clients that are pushed to are told a longer one.
type listKeys struct {
	millis        int64
	all, none, in [2]string
}

// keysFor returns the cache keys for cacheMillis, made once per value. The
// two in use (polled and pushed clients) are found without a map lookup.
func (d *Door) keysFor(cacheMillis int64) *listKeys {
	for i := range d.recentKeys {
		if k := d.recentKeys[i].Load(); k != nil && k.millis == cacheMillis {
			return k
		}
	}
	p := "nacos|" + strconv.FormatInt(cacheMillis, 10) + "|"
	k := &listKeys{
		millis: cacheMillis,
		all:    [2]string{p + "all|false", p + "all|true"},
		none:   [2]string{p + "none|false", p + "none|true"},
		in:     [2]string{p + "in|false|", p + "in|true|"},
	}
	slot := &d.recentKeys[0]
	if slot.Load() != nil {
		slot = &d.recentKeys[1]
	}
	slot.Store(k)
	return k
}

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
	healthyOnly, err := param.Bool("healthyOnly", p.Get("healthyOnly"), false)
	if err != nil {
		return err
	}
	udpPort, err := param.Int("udpPort", p.Get("udpPort"), 0, 0, 65535)
	if err != nil {
		return err
	}
	snap := d.core.Snapshot(k)
	sw := d.switchValues()
	cacheMillis := sw.DefaultCacheMillis
	if udpPort > 0 && d.push != nil && sw.PushEnabled {
		if _, err := splitClusters(clusters); err != nil { // before it is kept
			return err
		}
		if d.push.subscribe(d.subscription(r, p, k, clusters, healthyOnly, udpPort), snap.Index, d.cfg.Now()) {
			cacheMillis = sw.DefaultPushCacheMillis // as Nacos tells the clients it pushes to
		}
	}
	body, echo, err := d.cachedList(snap, clusters, healthyOnly, cacheMillis)
	if err != nil {
		return err
	}
	head, value, tail := spliceClusters(body, echo, clusters)
	if value == nil {
		gate.WriteJSONBytes(w, http.StatusOK, head)
		return nil
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(head)
	_, _ = w.Write(value)
	_, _ = w.Write(tail)
	return nil
}

// cachedList returns the cached list body of snap for the clusters
// parameter as sent, building it on first use, and the clusters value the
// body echoes (the canonical spelling; "" for every or no cluster).
func (d *Door) cachedList(snap *store.Snapshot, clusters string, healthyOnly bool, cacheMillis int64) (body []byte, echo string, err error) {
	h := 0
	if healthyOnly {
		h = 1
	}
	keys := d.keysFor(cacheMillis)
	key := keys.all[h]
	var known []string
	if clusters != "" {
		names, err := splitClusters(clusters)
		if err != nil {
			return nil, "", err
		}
		known = knownClusters(snap, names)
		switch {
		case names == nil: // names no cluster: every cluster, as in Nacos
		case len(known) == 0:
			key = keys.none[h]
		default:
			echo = strings.Join(known, ",")
			key = keys.in[h] + echo
		}
	}
	body = snap.Cached(key, func() []byte {
		var filter map[string]bool
		if key != keys.all[h] {
			filter = make(map[string]bool, len(known))
			for _, c := range known {
				filter[c] = true
			}
		}
		return d.encodeList(snap, echo, filter, healthyOnly, cacheMillis)
	})
	return body, echo, nil
}

// knownClusters returns those of names (sorted) that snap has instances
// in. Instances are sorted by cluster, so each is a binary search.
func knownClusters(snap *store.Snapshot, names []string) []string {
	var out []string
	for _, c := range names {
		i, _ := slices.BinarySearchFunc(snap.Instances, c, func(in *store.Instance, c string) int {
			return strings.Compare(in.Cluster, c)
		})
		if i < len(snap.Instances) && snap.Instances[i].Cluster == c {
			out = append(out, c)
		}
	}
	return out
}

// clustersField is what precedes the clusters value in a list body. The
// fields before it are JSON strings, whose quotes are escaped, so its
// first occurrence is the field.
var clustersField = []byte(`,"clusters":`)

// spliceClusters returns body, which echoes echo, as three pieces that
// echo clusters instead: all of body when the two are the same, else the
// part before the clusters value, the value as sent, and the rest.
func spliceClusters(body []byte, echo, clusters string) (head, value, tail []byte) {
	if clusters == echo {
		return body, nil, nil
	}
	old, _ := json.Marshal(echo)
	i := bytes.Index(body, clustersField)
	if i < 0 || !bytes.HasPrefix(body[i+len(clustersField):], old) {
		return body, nil, nil // not a list body; cannot happen
	}
	i += len(clustersField)
	value, _ = json.Marshal(clusters)
	return body[:i], value, body[i+len(old):]
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

// encodeList builds the instance/list body for a snapshot: the instances
// of the clusters in filter (every cluster if nil), echoing clusters.
func (d *Door) encodeList(snap *store.Snapshot, clusters string, filter map[string]bool, healthyOnly bool, cacheMillis int64) []byte {
	k := snap.Key
	hosts, healthy, protected := selectHosts(snap, filter, healthyOnly)
	out := nacosServiceInfo{
		Name:                     k.Grouped(),
		GroupName:                k.Group,
		Dom:                      k.Grouped(),
		Clusters:                 clusters,
		CacheMillis:              cacheMillis,
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
