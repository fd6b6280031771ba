package nacos

import (
	"slices"
	"strings"

	"github.com/roster-io/roster/internal/param"
	"github.com/roster-io/roster/store"
)

// nacosNamespace reads namespaceId (default public); the door's reserved
// namespace is refused.
func nacosNamespace(p param.Values) (string, error) {
	ns, err := param.OptionalName("namespaceId", p.Get("namespaceId"), store.DefaultNamespace)
	if err != nil {
		return "", err
	}
	return ns, checkNamespace("namespaceId", ns)
}

// nacosKey reads namespaceId, serviceName and groupName.
func nacosKey(p param.Values) (store.Key, error) {
	ns, err := nacosNamespace(p)
	if err != nil {
		return store.Key{}, err
	}
	group, svc, err := param.ServiceName(p.Get("serviceName"), p.Get("groupName"))
	if err != nil {
		return store.Key{}, err
	}
	return store.Key{Namespace: ns, Group: group, Service: svc}, nil
}

// nacosCluster reads clusterName, falling back to cluster.
func nacosCluster(p param.Values) (string, error) {
	v, _ := p.First("clusterName", "cluster")
	return param.OptionalName("clusterName", v, store.DefaultCluster)
}

// nacosInstanceKey reads the key of one instance: service, cluster, ip, port.
func nacosInstanceKey(p param.Values) (store.Key, store.InstanceKey, error) {
	k, err := nacosKey(p)
	if err != nil {
		return k, store.InstanceKey{}, err
	}
	cluster, err := nacosCluster(p)
	if err != nil {
		return k, store.InstanceKey{}, err
	}
	ip, err := param.IP("ip", p.Get("ip"))
	if err != nil {
		return k, store.InstanceKey{}, err
	}
	port, err := param.Port("port", p.Get("port"))
	if err != nil {
		return k, store.InstanceKey{}, err
	}
	return k, store.InstanceKey{Cluster: cluster, IP: ip, Port: port}, nil
}

// nacosInstance reads a whole instance for registration, with Nacos'
// defaults: weight 1, enabled, healthy, and ephemeral unless the
// defaultInstanceEphemeral switch says otherwise.
func nacosInstance(p param.Values, ephemeral bool) (store.Key, store.Instance, error) {
	k, ik, err := nacosInstanceKey(p)
	if err != nil {
		return k, store.Instance{}, err
	}
	in := store.Instance{InstanceKey: ik}
	if in.Weight, err = param.Weight("weight", p.Get("weight"), 1); err != nil {
		return k, in, err
	}
	enabled, _ := p.First("enabled", "enable")
	if in.Enabled, err = param.Bool("enabled", enabled, true); err != nil {
		return k, in, err
	}
	if in.Healthy, err = param.Bool("healthy", p.Get("healthy"), true); err != nil {
		return k, in, err
	}
	if in.Ephemeral, err = param.Bool("ephemeral", p.Get("ephemeral"), ephemeral); err != nil {
		return k, in, err
	}
	if in.Metadata, err = param.Metadata("metadata", p.Get("metadata")); err != nil {
		return k, in, err
	}
	if err := applyTimings(&in); err != nil {
		return k, in, err
	}
	return k, in, nil
}

// applyTimings sets the heartbeat timings from the preserved metadata keys.
func applyTimings(in *store.Instance) error {
	var err error
	in.BeatInterval, in.BeatTimeout, in.DeleteTimeout, err = param.HeartbeatMillis(in.Metadata)
	return err
}

// nacosPatch reads the optional fields of an instance update (PUT or
// PATCH): only the fields present change.
func nacosPatch(p param.Values) (func(*store.Instance), error) {
	var fns []func(*store.Instance)
	if v := p.Get("weight"); v != "" {
		w, err := param.Weight("weight", v, 1)
		if err != nil {
			return nil, err
		}
		fns = append(fns, func(in *store.Instance) { in.Weight = w })
	}
	if v, _ := p.First("enabled", "enable"); v != "" {
		b, err := param.Bool("enabled", v, true)
		if err != nil {
			return nil, err
		}
		fns = append(fns, func(in *store.Instance) { in.Enabled = b })
	}
	if v, ok := p.First("metadata"); ok {
		md, err := param.Metadata("metadata", v)
		if err != nil {
			return nil, err
		}
		probe := store.Instance{Metadata: md}
		if err := applyTimings(&probe); err != nil {
			return nil, err
		}
		fns = append(fns, func(in *store.Instance) {
			in.Metadata = md
			in.BeatInterval, in.BeatTimeout, in.DeleteTimeout = probe.BeatInterval, probe.BeatTimeout, probe.DeleteTimeout
		})
	}
	return func(in *store.Instance) {
		for _, fn := range fns {
			fn(in)
		}
	}, nil
}

// splitClusters parses the clusters parameter of instance/list: a comma
// separated list of cluster names. It returns the names sorted and without
// duplicates, or nil when s names no cluster (empty, blank or only
// commas), which Nacos reads as every cluster.
func splitClusters(s string) ([]string, error) {
	var out []string
	for c := range strings.SplitSeq(s, ",") {
		if strings.TrimSpace(c) == "" {
			continue
		}
		name, err := param.Name("clusters", c)
		if err != nil {
			return nil, err
		}
		out = append(out, name)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
