package nacos

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/roster-io/roster/door/gate"
	"github.com/roster-io/roster/internal/param"
	"github.com/roster-io/roster/store"
)

// Nacos v1 instance endpoints under /nacos/v1/ns/instance.

// register handles POST instance.
func (d *Door) register(w http.ResponseWriter, r *http.Request, p param.Values) error {
	k, in, err := nacosInstance(p, d.switchValues().DefaultInstanceEphemeral)
	if err != nil {
		return err
	}
	if _, err := d.core.Register(r.Context(), k, in); err != nil {
		return err
	}
	gate.WriteText(w, http.StatusOK, "ok")
	return nil
}

// deregister handles DELETE instance. Like Nacos it answers ok when
// the instance is already gone, so deregistration is idempotent.
func (d *Door) deregister(w http.ResponseWriter, r *http.Request, p param.Values) error {
	k, ik, err := nacosInstanceKey(p)
	if err != nil {
		return err
	}
	if _, err := param.Bool("ephemeral", p.Get("ephemeral"), true); err != nil {
		return err
	}
	if err := d.core.Deregister(r.Context(), k, ik); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	gate.WriteText(w, http.StatusOK, "ok")
	return nil
}

// update handles PUT instance as Nacos 1.4 does for its 1.x clients: the
// instance is replaced by the one described, so weight, enabled and
// metadata take the values sent or Nacos' defaults (1, true, empty).
// Updating a missing instance is a 400, as in Nacos. healthy is not taken:
// health comes from beats.
func (d *Door) update(w http.ResponseWriter, r *http.Request, p param.Values) error {
	_, in, err := nacosInstance(p, d.switchValues().DefaultInstanceEphemeral)
	if err != nil {
		return err
	}
	return d.apply(w, r, p, func(cur *store.Instance) {
		cur.Weight, cur.Enabled, cur.Metadata = in.Weight, in.Enabled, in.Metadata
		cur.BeatInterval, cur.BeatTimeout, cur.DeleteTimeout = in.BeatInterval, in.BeatTimeout, in.DeleteTimeout
	})
}

// patch handles PATCH instance: only the fields sent change (weight,
// enabled, metadata), as in Nacos.
func (d *Door) patch(w http.ResponseWriter, r *http.Request, p param.Values) error {
	fn, err := nacosPatch(p)
	if err != nil {
		return err
	}
	return d.apply(w, r, p, fn)
}

// apply changes an existing instance with fn.
func (d *Door) apply(w http.ResponseWriter, r *http.Request, p param.Values, fn func(*store.Instance)) error {
	k, ik, err := nacosInstanceKey(p)
	if err != nil {
		return err
	}
	if _, err := param.Bool("ephemeral", p.Get("ephemeral"), true); err != nil {
		return err
	}
	hp, err := d.healthyPatch(k, ik, p) // health.go: a 400 where Nacos would not honour it
	if err != nil {
		return err
	}
	if hp != nil {
		rest := fn
		fn = func(in *store.Instance) { rest(in); hp(in) }
	}
	if _, err := d.core.Update(r.Context(), k, ik, fn); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return &param.FieldError{Field: "ip", Reason: fmt.Sprintf("instance %s:%d not found in cluster %s of %s", ik.IP, ik.Port, ik.Cluster, k.Grouped())}
		}
		return err
	}
	gate.WriteText(w, http.StatusOK, "ok")
	return nil
}

// nacosInstanceDetail is the body of GET instance.
type nacosInstanceDetail struct {
	Service     string            `json:"service"`
	IP          string            `json:"ip"`
	Port        int               `json:"port"`
	ClusterName string            `json:"clusterName"`
	Weight      float64           `json:"weight"`
	Healthy     bool              `json:"healthy"`
	Enabled     bool              `json:"enabled"`
	Ephemeral   bool              `json:"ephemeral"`
	InstanceID  string            `json:"instanceId"`
	Metadata    map[string]string `json:"metadata"`
}

// get handles GET instance: one instance's own health, not subject to
// the protect threshold.
func (d *Door) get(w http.ResponseWriter, r *http.Request, p param.Values) error {
	k, ik, err := nacosInstanceKey(p)
	if err != nil {
		return err
	}
	healthyOnly, err := param.Bool("healthyOnly", p.Get("healthyOnly"), false)
	if err != nil {
		return err
	}
	in, ok := d.core.Snapshot(k).Find(ik)
	if !ok || (healthyOnly && !in.Healthy) {
		return fmt.Errorf("node: no matched ip %s:%d in cluster %s of %s: %w", ik.IP, ik.Port, ik.Cluster, k.Grouped(), store.ErrNotFound)
	}
	gate.WriteJSON(w, http.StatusOK, nacosInstanceDetail{
		Service: k.Grouped(), IP: in.IP, Port: in.Port, ClusterName: in.Cluster,
		Weight: in.Weight, Healthy: in.Healthy, Enabled: in.Enabled, Ephemeral: in.Ephemeral,
		InstanceID: in.ID(k), Metadata: nonNil(in.Metadata),
	})
	return nil
}

// beatBody is the beat parameter of instance/beat (Nacos' RsInfo). Unknown
// fields are ignored.
type beatBody struct {
	IP          string            `json:"ip"`
	Port        int               `json:"port"`
	Weight      *float64          `json:"weight"`
	ServiceName string            `json:"serviceName"`
	Cluster     string            `json:"cluster"`
	Metadata    map[string]string `json:"metadata"`
	Ephemeral   *bool             `json:"ephemeral"`
}

// nacosBeatReply is the answer to instance/beat.
type nacosBeatReply struct {
	ClientBeatInterval int64 `json:"clientBeatInterval"`
	Code               int   `json:"code"`
	LightBeatEnabled   bool  `json:"lightBeatEnabled"`
}

// Nacos beat codes.
const (
	beatOK       = 10200
	beatNotFound = 20404
)

// beat handles PUT instance/beat. A beat that finds no instance and
// carries the instance in its body re-registers it, as Nacos does; without
// a body it answers code 20404.
func (d *Door) beat(w http.ResponseWriter, r *http.Request, p param.Values) error {
	var body *beatBody
	if raw := p.Get("beat"); raw != "" {
		body = &beatBody{}
		if err := json.Unmarshal([]byte(raw), body); err != nil {
			return &param.FieldError{Field: "beat", Reason: "not a JSON beat object: " + err.Error()}
		}
		if p.Get("serviceName") == "" && body.ServiceName != "" {
			p["serviceName"] = body.ServiceName
		}
		if body.Cluster != "" {
			p["clusterName"] = body.Cluster
			delete(p, "cluster")
		}
		p["ip"] = body.IP
		p["port"] = fmt.Sprint(body.Port)
	}
	k, ik, err := nacosInstanceKey(p)
	if err != nil {
		return err
	}
	var reregister *store.Instance
	if body != nil {
		in, err := beatInstance(ik, body)
		if err != nil {
			return err
		}
		reregister = &in
	}
	interval, found, err := d.core.Beat(r.Context(), k, ik, reregister)
	if err != nil {
		return err
	}
	reply := nacosBeatReply{ClientBeatInterval: store.DefaultBeatInterval.Milliseconds(), Code: beatOK, LightBeatEnabled: true}
	if !found {
		reply.Code = beatNotFound
	} else {
		reply.ClientBeatInterval = interval.Milliseconds()
	}
	reply.write(w)
	return nil
}

// beatInstance builds the instance a beat body re-registers.
func beatInstance(ik store.InstanceKey, b *beatBody) (store.Instance, error) {
	in := store.Instance{InstanceKey: ik, Weight: 1, Healthy: true, Enabled: true, Ephemeral: true}
	if b.Weight != nil {
		w, err := param.Weight("beat.weight", fmt.Sprint(*b.Weight), 1)
		if err != nil {
			return in, err
		}
		in.Weight = w
	}
	if b.Ephemeral != nil {
		in.Ephemeral = *b.Ephemeral
	}
	md, err := param.CheckedMetadata("beat.metadata", b.Metadata)
	if err != nil {
		return in, err
	}
	in.Metadata = md
	return in, applyTimings(&in)
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
