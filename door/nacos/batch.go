package nacos

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"strings"

	"github.com/roster-io/roster/door/gate"
	"github.com/roster-io/roster/internal/param"
	"github.com/roster-io/roster/store"
)

// instance/statuses and instance/metadata/batch.

// statuses handles GET instance/statuses: key is
// [namespace##]group@@service (or a bare service name of DEFAULT_GROUP);
// {"ips":["ip:port_healthy",...]}.
func (d *Door) statuses(w http.ResponseWriter, r *http.Request, p param.Values) error {
	key := strings.TrimSpace(p.Get("key"))
	if key == "" {
		return &param.FieldError{Field: "key", Reason: param.ReasonMissing}
	}
	ns, svc := store.DefaultNamespace, key
	if a, b, ok := strings.Cut(key, "##"); ok {
		ns, svc = a, b
	}
	ns, err := param.Name("key", ns)
	if err != nil {
		return err
	}
	if err := checkNamespace("key", ns); err != nil {
		return err
	}
	group, name, err := param.ServiceName(svc, "")
	if fe := (*param.FieldError)(nil); errors.As(err, &fe) {
		return &param.FieldError{Field: "key", Reason: fe.Reason}
	} else if err != nil {
		return err
	}
	k := store.Key{Namespace: ns, Group: group, Service: name}
	snap := d.core.Snapshot(k)
	if !snap.Exists {
		return fmt.Errorf("nacos: service %s not found: %w", k.Grouped(), store.ErrServiceNotFound)
	}
	ips := make([]string, 0, len(snap.Instances))
	for _, in := range snap.Instances {
		ips = append(ips, in.IP+":"+strconv.Itoa(in.Port)+"_"+strconv.FormatBool(in.Healthy))
	}
	gate.WriteJSON(w, http.StatusOK, map[string]any{"ips": ips})
	return nil
}

// batchTarget is one entry of the instances parameter.
type batchTarget struct {
	IP          string `json:"ip"`
	Port        int    `json:"port"`
	ClusterName string `json:"clusterName"`
	Ephemeral   *bool  `json:"ephemeral"`
}

// maxBatch bounds the instances parameter.
const maxBatch = 10000

// batchTargets reads consistencyType and instances: the instance keys to
// operate on, or, for a consistency type, every instance of that kind.
func batchTargets(p param.Values, snap *store.Snapshot) ([]store.InstanceKey, error) {
	ctype := strings.TrimSpace(p.Get("consistencyType"))
	if ctype != "" {
		if ctype != "ephemeral" && ctype != "persist" {
			return nil, &param.FieldError{Field: "consistencyType", Reason: `must be "ephemeral" or "persist"`}
		}
		var out []store.InstanceKey
		for _, in := range snap.Instances {
			if in.Ephemeral == (ctype == "ephemeral") {
				out = append(out, in.InstanceKey)
			}
		}
		return out, nil
	}
	raw := strings.TrimSpace(p.Get("instances"))
	if raw == "" {
		return nil, nil
	}
	var targets []batchTarget
	if err := json.Unmarshal([]byte(raw), &targets); err != nil {
		return nil, &param.FieldError{Field: "instances", Reason: `must be a JSON list such as [{"ip":"10.0.0.1","port":80,"clusterName":"DEFAULT"}]`}
	}
	if len(targets) > maxBatch {
		return nil, &param.FieldError{Field: "instances", Reason: fmt.Sprintf("more than %d instances", maxBatch)}
	}
	out := make([]store.InstanceKey, 0, len(targets))
	for i, t := range targets {
		field := fmt.Sprintf("instances[%d]", i)
		ip, err := param.IP(field+".ip", t.IP)
		if err != nil {
			return nil, err
		}
		if err := param.CheckPort(field+".port", t.Port); err != nil {
			return nil, err
		}
		cluster, err := param.OptionalName(field+".clusterName", t.ClusterName, store.DefaultCluster)
		if err != nil {
			return nil, err
		}
		ik := store.InstanceKey{Cluster: cluster, IP: ip, Port: t.Port}
		if in, ok := snap.Find(ik); ok && (t.Ephemeral == nil || *t.Ephemeral == in.Ephemeral) {
			out = append(out, ik)
		}
	}
	return out, nil
}

// metadataBatchUpdate handles PUT instance/metadata/batch: the metadata
// keys given are added to (or replace those of) each target instance.
func (d *Door) metadataBatchUpdate(w http.ResponseWriter, r *http.Request, p param.Values) error {
	return d.metadataBatch(w, r, p, func(md, given map[string]string) { maps.Copy(md, given) })
}

// metadataBatchDelete handles DELETE instance/metadata/batch: the
// metadata keys given are removed from each target instance.
func (d *Door) metadataBatchDelete(w http.ResponseWriter, r *http.Request, p param.Values) error {
	return d.metadataBatch(w, r, p, func(md, given map[string]string) {
		for k := range given {
			delete(md, k)
		}
	})
}

// merged returns a copy of md changed by op with given.
func merged(md, given map[string]string, op func(md, given map[string]string)) map[string]string {
	out := maps.Clone(md)
	if out == nil {
		out = map[string]string{}
	}
	op(out, given)
	return out
}

// checkBatchMetadata checks an instance's new metadata as a registration
// would be checked: the parameter rules, the core's size bound and the
// heartbeat timings.
func (d *Door) checkBatchMetadata(md map[string]string) error {
	if err := param.CheckMetadata("metadata", md); err != nil {
		return err
	}
	total := 0
	for k, v := range md {
		total += len(k) + len(v)
	}
	if total > d.cfg.MaxMetadataBytes {
		return &param.FieldError{Field: "metadata", Reason: fmt.Sprintf("an instance's metadata would hold %d bytes, over the limit of %d (--max-metadata-bytes)", total, d.cfg.MaxMetadataBytes)}
	}
	probe := store.Instance{Metadata: md}
	return applyTimings(&probe)
}

// metadataBatch applies op to the metadata of the target instances and
// answers {"updated":["ip:port:unknown:cluster:ephemeral",...]}, as Nacos
// does. Instances that do not exist (or vanish meanwhile) are left out.
func (d *Door) metadataBatch(w http.ResponseWriter, r *http.Request, p param.Values, op func(md, given map[string]string)) error {
	k, err := nacosKey(p)
	if err != nil {
		return err
	}
	if _, ok := p.First("metadata"); !ok {
		return &param.FieldError{Field: "metadata", Reason: param.ReasonMissing}
	}
	given, err := param.Metadata("metadata", p.Get("metadata"))
	if err != nil {
		return err
	}
	snap := d.core.Snapshot(k)
	targets, err := batchTargets(p, snap)
	if err != nil {
		return err
	}
	// Check every target's new metadata before writing any, so a bad
	// request changes nothing.
	for _, ik := range targets {
		in, _ := snap.Find(ik)
		if err := d.checkBatchMetadata(merged(in.Metadata, given, op)); err != nil {
			return err
		}
	}
	updated := []string{}
	for _, ik := range targets {
		out, err := d.core.Update(r.Context(), k, ik, func(in *store.Instance) {
			next := *in
			next.Metadata = merged(in.Metadata, given, op)
			if applyTimings(&next) == nil { // checked above; a racing write may differ
				*in = next
			}
		})
		if errors.Is(err, store.ErrNotFound) {
			continue // gone meanwhile
		}
		if err != nil {
			return err
		}
		kind := "persist"
		if out.Ephemeral {
			kind = "ephemeral"
		}
		updated = append(updated, ik.IP+":"+strconv.Itoa(ik.Port)+":unknown:"+ik.Cluster+":"+kind)
	}
	gate.WriteJSON(w, http.StatusOK, map[string]any{"updated": updated})
	return nil
}
