// Package peer is how roster nodes talk to each other: the one place that
// knows the node-to-node protocol. It holds the per-peer queues that batch
// replicated deltas and handed-off beats (batcher.go), the MessagePack wire
// codec of record lists (wire.go), the HMAC signature of internal requests
// (hmac.go), the HTTP client that sends them (client.go) and the
// /internal/v1/ endpoints that receive them (server.go).
//
// The core (package node) calls a Transport to send and implements
// Receiver to be called; it never sees an HTTP request. Replacing the HTTP
// requests with a persistent stream changes this package only.
package peer
