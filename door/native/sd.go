package native

import (
	"cmp"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/roster-io/roster/door/gate"
	"github.com/roster-io/roster/internal/param"
	"github.com/roster-io/roster/store"
)

// GET /v1/sd/prometheus answers Prometheus' HTTP service discovery
// (http_sd_configs): one target group per instance, "ip:port", labelled
// with where it is registered and how it is. Parameters narrow it:
// namespace (default: every namespace), group, service, and healthy=true
// (only healthy, enabled instances; by default every instance, with its
// health in a label, as Prometheus' Consul discovery does).

// sdGroup is one target group of Prometheus' HTTP SD format.
type sdGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels"`
}

// The labels' prefix; metadata keys follow metaLabel's prefix.
const (
	sdPrefix  = "__meta_roster_"
	metaLabel = sdPrefix + "metadata_"
)

// sdFilter is the query of a discovery request.
type sdFilter struct {
	namespace, group, service string // "" matches any
	healthy                   bool
}

// prometheusSD handles GET /v1/sd/prometheus.
func (d *Door) prometheusSD(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var f sdFilter
	var err error
	for _, p := range []struct {
		field string
		dst   *string
	}{{"namespace", &f.namespace}, {"group", &f.group}, {"service", &f.service}} {
		if v := q.Get(p.field); v != "" {
			if *p.dst, err = param.Name(p.field, v); err != nil {
				gate.JSONError(w, err)
				return
			}
		}
	}
	if f.healthy, err = param.Bool("healthy", q.Get("healthy"), false); err != nil {
		gate.JSONError(w, err)
		return
	}
	if err := d.gate.Check(r, "", gate.Read, gate.Resource{Namespace: f.namespace, Group: f.group, Service: f.service}); err != nil {
		gate.JSONError(w, err)
		return
	}
	var keys []store.Key
	for _, k := range d.core.AllServices() {
		if k.Namespace == gate.SystemNamespace {
			continue
		}
		if (f.namespace == "" || k.Namespace == f.namespace) && (f.group == "" || k.Group == f.group) && (f.service == "" || k.Service == f.service) {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b store.Key) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Group, b.Group), cmp.Compare(a.Service, b.Service))
	})
	out := []sdGroup{}
	for _, k := range keys {
		snap := d.core.Snapshot(k)
		for _, in := range snap.Instances {
			if f.healthy && (!in.Healthy || !in.Enabled) {
				continue
			}
			out = append(out, sdTarget(k, in))
		}
	}
	gate.WriteJSON(w, http.StatusOK, out)
}

// sdTarget is the target group of one instance.
func sdTarget(k store.Key, in *store.Instance) sdGroup {
	l := map[string]string{
		sdPrefix + "namespace":   k.Namespace,
		sdPrefix + "group":       k.Group,
		sdPrefix + "service":     k.Service,
		sdPrefix + "cluster":     in.Cluster,
		sdPrefix + "instance_id": in.ID(k),
		sdPrefix + "healthy":     strconv.FormatBool(in.Healthy),
		sdPrefix + "enabled":     strconv.FormatBool(in.Enabled),
		sdPrefix + "ephemeral":   strconv.FormatBool(in.Ephemeral),
		sdPrefix + "weight":      strconv.FormatFloat(in.Weight, 'f', -1, 64),
	}
	keys := make([]string, 0, len(in.Metadata))
	for mk := range in.Metadata {
		keys = append(keys, mk)
	}
	slices.Sort(keys) // keys that sanitize alike: the last in order wins
	for _, mk := range keys {
		l[metaLabel+labelName(mk)] = in.Metadata[mk]
	}
	return sdGroup{Targets: []string{net.JoinHostPort(in.IP, strconv.Itoa(in.Port))}, Labels: l}
}

// labelName makes s a valid part of a Prometheus label name: every
// character other than an ASCII letter, digit or underscore becomes an
// underscore, as Prometheus' own discoveries do with metadata keys.
func labelName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, s)
}
