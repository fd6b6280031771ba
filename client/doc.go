// Package client is the Go client of roster for users' programs: it
// registers a program's instances and keeps them alive, lists and watches
// services, and takes a program offline gracefully.
//
// A Client is given several node addresses and fails over between them
// with retries and backoff (and, once it knows the cluster's members, to
// members it was not given); every call takes a context, and a Client is
// safe for concurrent use. It talks to the nodes' native JSON API (/v1/):
//
//   - Register posts an instance and beats at the interval the node answers
//     with, across node failures; a beat answered "not found" registers the
//     instance again at once. Deregister stops the beats and removes it;
//     Close deregisters everything the client registered.
//   - Beats are ring-aware: the client reads the nodes' ownership table
//     (/v1/cluster/ring: the owner of every partition), computes each
//     service's partition as the nodes do (api.Partition) and beats
//     straight to the service's owner, so no beat costs a hand-off. It
//     reads the table again when the ring's version in /v1/cluster/members
//     changes or a beat to an owner fails, and falls back to any node when
//     unsure. It never rebuilds the ring itself.
//   - List reads a service; Watch and WatchChan deliver its instance list
//     whenever it changes, through blocking queries, with no polling delay.
//   - WaitGone waits until every node dropped deregistered instances, and
//     Graceful runs the whole offline sequence on SIGTERM: deregister, wait
//     until every node dropped the instances, drain, shut down.
//
// Set Config.Token for nodes that require a bearer token, and Config.TLS or
// Config.CAFile for https addresses.
//
// The client depends only on package api, the client–server contract
// (JSON types, key format, defaults, ring view), and on nothing of the
// server.
//
// Tools that must see what one particular node answers (the roster
// command's one-shot commands, benchmarks, test harnesses) use a Node
// instead: one base URL, one attempt per call, no failover and no ring,
// with the raw answer (Do) or typed reads (List, ListAfter, Members,
// Owner, Services).
//
// If a program is killed with SIGKILL nothing can deregister it: its
// instance turns unhealthy after its beat timeout (default 15 s) and is
// removed after its delete timeout (default 30 s).
package client
