// Package api holds the JSON types of roster's native API (/v1/), shared by
// the server (package node), the Go client library and the CLI, so the
// three cannot drift apart.
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
