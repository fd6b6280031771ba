package nacos

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/roster-io/roster/door/gate"
	"github.com/roster-io/roster/internal/param"
	"github.com/roster-io/roster/store"
)

// Nacos' naming switches (operator/switches). The four that mean something
// in roster are settable, and a PUT to any node sets them on every node
// (they are a replicated record, system.go); every other switch is
// reported with Nacos 1.4's default and refused on PUT with a 400 saying
// why.

// Switch limits, as Nacos 1.4's SwitchManager enforces them.
const (
	minCacheMillis     = 1000
	minPushCacheMillis = 10000
	maxCacheMillis     = 3600_000
)

// switchValues are the settable switches.
type switchValues struct {
	PushEnabled              bool
	DefaultCacheMillis       int64
	DefaultPushCacheMillis   int64
	DefaultInstanceEphemeral bool
}

// switches reads the switches from their replicated record (system.go)
// over the node's configured defaults, parsing the record once per
// change. It is safe for concurrent use.
type switches struct {
	defaults switchValues
	cached   atomic.Pointer[parsedSwitches] // by the record's index
	latest   atomic.Pointer[parsedSwitches] // by the global index
}

// parsedSwitches are the switches parsed from the record at index, read
// when the registry's global index was global.
type parsedSwitches struct {
	global uint64
	index  uint64
	v      switchValues
}

func newSwitches(cacheMillis, pushCacheMillis int64) *switches {
	return &switches{defaults: switchValues{PushEnabled: true, DefaultCacheMillis: cacheMillis,
		DefaultPushCacheMillis: pushCacheMillis, DefaultInstanceEphemeral: true}}
}

// view returns the switches as the record snap holds them.
func (s *switches) view(snap *store.Snapshot) switchValues {
	if !snap.Exists {
		return s.defaults
	}
	if c := s.cached.Load(); c != nil && c.index == snap.Index && c.index != 0 {
		return c.v
	}
	v := s.defaults
	md := snap.Info.Metadata
	if b, err := strconv.ParseBool(md["pushEnabled"]); err == nil {
		v.PushEnabled = b
	}
	if b, err := strconv.ParseBool(md["defaultInstanceEphemeral"]); err == nil {
		v.DefaultInstanceEphemeral = b
	}
	if n, err := strconv.ParseInt(md["defaultCacheMillis"], 10, 64); err == nil && n >= minCacheMillis && n <= maxCacheMillis {
		v.DefaultCacheMillis = n
	}
	if n, err := strconv.ParseInt(md["defaultPushCacheMillis"], 10, 64); err == nil && n >= minPushCacheMillis && n <= maxCacheMillis {
		v.DefaultPushCacheMillis = n
	}
	s.cached.Store(&parsedSwitches{index: snap.Index, v: v})
	return v
}

// switchValues returns the current switches. While nothing in the
// registry changes (the global index stays), the last answer stands, so a
// read costs no snapshot lookup.
func (d *Door) switchValues() switchValues {
	global := d.core.Index()
	if c := d.switches.latest.Load(); c != nil && c.global == global {
		return c.v
	}
	v := d.switches.view(d.core.Snapshot(switchesKey))
	d.switches.latest.Store(&parsedSwitches{global: global, v: v})
	return v
}

// notApplicable names the Nacos switches roster reports but does not
// take, with the reason a PUT of one is refused.
var notApplicable = map[string]string{
	"distroThreshold": "roster places services on a consistent-hash ring, not by Distro's threshold",
	"clientBeatInterval": "each instance's beat interval comes from its preserved.heart.beat.interval metadata " +
		"(default 5000 ms), and its timeouts are not derived from a cluster-wide value",
	"healthCheckEnabled":           "roster has no server-side health checks; client beats keep instances healthy",
	"autoChangeHealthCheckEnabled": "roster has no server-side health checks",
	"distroEnabled":                "roster always replicates ephemeral instances peer to peer",
	"enableStandalone":             "roster has no standalone mode switch",
	"checkTimes":                   "roster has no server-side health checks",
	"httpHealthParams":             "roster has no server-side health checks",
	"tcpHealthParams":              "roster has no server-side health checks",
	"mysqlHealthParams":            "roster has no server-side health checks",
	"masters":                      "roster has no masters",
	"adWeight":                     "roster has no address weights",
	"incrementalList":              "roster has no incremental list",
	"serverStatusSynchronizationPeriodMillis":  "membership is gossiped (SWIM), not synchronised on a period",
	"serviceStatusSynchronizationPeriodMillis": "replication is pushed per change plus anti-entropy, not on a period",
	"disableAddIP":              "registration cannot be switched off",
	"sendBeatOnly":              "roster has no such mode",
	"lightBeatEnabled":          "roster always accepts light beats",
	"limitedUrlMap":             "request limits are set by flags (docs/operations.md)",
	"distroServerExpiredMillis": "membership is gossiped (SWIM): a dead node is noticed in about two seconds",
	"pushVersion":               "roster pushes to every client that asks with a udpPort",
	"enableAuthentication":      "ACLs are set by flags (docs/operations.md)",
	"overriddenServerStatus":    "the status is the node's readiness",
	"healthCheckWhiteList":      "roster has no server-side health checks",
}

// checkSwitch validates a switch and returns its value as stored, or a
// 400 saying why it cannot be set.
func checkSwitch(entry, value string) (string, error) {
	value = strings.TrimSpace(value)
	switch entry {
	case "pushEnabled", "defaultInstanceEphemeral":
		b, err := param.Bool("value", value, false)
		if err != nil || value == "" {
			return "", &param.FieldError{Field: "value", Reason: entry + " must be true or false"}
		}
		return strconv.FormatBool(b), nil
	case "defaultCacheMillis", "defaultPushCacheMillis":
		lo := int64(minCacheMillis)
		if entry == "defaultPushCacheMillis" {
			lo = minPushCacheMillis
		}
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil || n < lo || n > maxCacheMillis {
			return "", &param.FieldError{Field: "value", Reason: fmt.Sprintf("%s must be an integer of milliseconds from %d to %d", entry, lo, maxCacheMillis)}
		}
		return strconv.FormatInt(n, 10), nil
	}
	if why, ok := notApplicable[entry]; ok {
		return "", &param.FieldError{Field: "entry", Reason: "switch " + entry + " is not applicable in roster: " + why}
	}
	return "", &param.FieldError{Field: "entry", Reason: "unknown switch " + quote(entry)}
}

// healthParams is one of Nacos' health-check parameter sets.
type healthParams struct {
	Max    int     `json:"max"`
	Min    int     `json:"min"`
	Factor float64 `json:"factor"`
}

// switchDomain is the body of GET operator/switches: Nacos 1.4's
// SwitchDomain, field by field.
type switchDomain struct {
	Name                                     string         `json:"name"`
	Masters                                  []string       `json:"masters"`
	AdWeightMap                              map[string]int `json:"adWeightMap"`
	DefaultPushCacheMillis                   int64          `json:"defaultPushCacheMillis"`
	ClientBeatInterval                       int64          `json:"clientBeatInterval"`
	DefaultCacheMillis                       int64          `json:"defaultCacheMillis"`
	DistroThreshold                          float64        `json:"distroThreshold"`
	HealthCheckEnabled                       bool           `json:"healthCheckEnabled"`
	AutoChangeHealthCheckEnabled             bool           `json:"autoChangeHealthCheckEnabled"`
	DistroEnabled                            bool           `json:"distroEnabled"`
	EnableStandalone                         bool           `json:"enableStandalone"`
	PushEnabled                              bool           `json:"pushEnabled"`
	CheckTimes                               int            `json:"checkTimes"`
	HTTPHealthParams                         healthParams   `json:"httpHealthParams"`
	TCPHealthParams                          healthParams   `json:"tcpHealthParams"`
	MysqlHealthParams                        healthParams   `json:"mysqlHealthParams"`
	IncrementalList                          []string       `json:"incrementalList"`
	ServerStatusSynchronizationPeriodMillis  int64          `json:"serverStatusSynchronizationPeriodMillis"`
	ServiceStatusSynchronizationPeriodMillis int64          `json:"serviceStatusSynchronizationPeriodMillis"`
	DisableAddIP                             bool           `json:"disableAddIP"`
	SendBeatOnly                             bool           `json:"sendBeatOnly"`
	LightBeatEnabled                         bool           `json:"lightBeatEnabled"`
	LimitedURLMap                            map[string]int `json:"limitedUrlMap"`
	DistroServerExpiredMillis                int64          `json:"distroServerExpiredMillis"`
	PushGoVersion                            string         `json:"pushGoVersion"`
	PushJavaVersion                          string         `json:"pushJavaVersion"`
	PushPythonVersion                        string         `json:"pushPythonVersion"`
	PushCVersion                             string         `json:"pushCVersion"`
	PushCSharpVersion                        string         `json:"pushCSharpVersion"`
	EnableAuthentication                     bool           `json:"enableAuthentication"`
	OverriddenServerStatus                   *string        `json:"overriddenServerStatus"`
	DefaultInstanceEphemeral                 bool           `json:"defaultInstanceEphemeral"`
	HealthCheckWhiteList                     []string       `json:"healthCheckWhiteList"`
	Checksum                                 *string        `json:"checksum"`
}

// switchesGet handles GET operator/switches.
func (d *Door) switchesGet(w http.ResponseWriter, r *http.Request, p param.Values) error {
	v := d.switchValues()
	gate.WriteJSON(w, http.StatusOK, switchDomain{
		Name: "00-00---000-NACOS_SWITCH_DOMAIN-000---00-00", Masters: nil, AdWeightMap: map[string]int{},
		DefaultPushCacheMillis: v.DefaultPushCacheMillis, ClientBeatInterval: 5000, DefaultCacheMillis: v.DefaultCacheMillis,
		DistroThreshold: 0.7, HealthCheckEnabled: true, AutoChangeHealthCheckEnabled: true, DistroEnabled: true,
		EnableStandalone: true, PushEnabled: v.PushEnabled, CheckTimes: 3,
		HTTPHealthParams: healthParams{5000, 500, 0.85}, TCPHealthParams: healthParams{5000, 1000, 0.75},
		MysqlHealthParams: healthParams{3000, 2000, 0.65}, IncrementalList: []string{},
		ServerStatusSynchronizationPeriodMillis: 2000, ServiceStatusSynchronizationPeriodMillis: 5000,
		LightBeatEnabled: true, LimitedURLMap: map[string]int{}, DistroServerExpiredMillis: 10000,
		PushGoVersion: "0.1.0", PushJavaVersion: "0.1.0", PushPythonVersion: "0.4.3", PushCVersion: "1.0.12",
		PushCSharpVersion: "0.9.0", EnableAuthentication: d.gate.ACLEnabled(), DefaultInstanceEphemeral: v.DefaultInstanceEphemeral,
		HealthCheckWhiteList: []string{},
	})
	return nil
}

// switchesPut handles PUT operator/switches: entry and value (debug is
// accepted and has no effect: there is no other node to skip).
func (d *Door) switchesPut(w http.ResponseWriter, r *http.Request, p param.Values) error {
	entry := strings.TrimSpace(p.Get("entry"))
	if entry == "" {
		return &param.FieldError{Field: "entry", Reason: param.ReasonMissing}
	}
	if _, ok := p.First("value"); !ok {
		return &param.FieldError{Field: "value", Reason: param.ReasonMissing}
	}
	if _, err := param.Bool("debug", p.Get("debug"), false); err != nil {
		return err
	}
	value, err := checkSwitch(entry, p.Get("value"))
	if err != nil {
		return err
	}
	if err := d.putSystem(r.Context(), switchesKey, map[string]string{entry: value}); err != nil {
		return err
	}
	gate.WriteText(w, http.StatusOK, "ok")
	return nil
}
