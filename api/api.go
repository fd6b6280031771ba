// Package api is the contract between roster's nodes and their clients:
// the JSON types of the native API (/v1/), the key format, the defaults of
// the data model, the headers, and the ring view a client needs to send
// each beat straight to its service's owner. The server (door/native, and
// package store, which takes its defaults and key format from here), the
// Go client library and the CLI all use it, so they cannot drift apart.
//
// api is the ground floor: it imports no other package of roster, and a
// client that imports it pulls in nothing of the server.
package api

import "time"

// Defaults of the data model, as in Nacos: an empty namespace, group or
// cluster means these, and an instance that names no heartbeat timings
// gets these.
const (
	DefaultNamespace = "public"
	DefaultGroup     = "DEFAULT_GROUP"
	DefaultCluster   = "DEFAULT"

	DefaultBeatInterval  = 5 * time.Second
	DefaultBeatTimeout   = 15 * time.Second
	DefaultDeleteTimeout = 30 * time.Second
)

// IndexHeader carries the change index of a list answer (GET /v1/instances,
// GET /v1/services); a blocking query passes it back as ?index=.
const IndexHeader = "X-Roster-Index"

// Member states in GET /v1/cluster/members.
const (
	StateAlive   = "alive"   // synced: in the ring, serving
	StateSyncing = "syncing" // joined, still copying the registry
	StateLeaving = "leaving" // shutting down
)
