// Package gossip tells each roster node which other nodes are alive.
//
// It wraps hashicorp/memberlist (SWIM with the Lifeguard extensions) and is
// the only roster package that imports it. A Gossip joins a cluster through a
// list of seed addresses, retrying with capped exponential backoff and jitter
// until one answers, publishes a small Meta record for every node (its HTTP
// address, boot epoch and readiness), and reports membership changes as
// Events.
//
// # Membership view
//
// memberlist calls four adapters defined here, each in its own file:
// delegate (node metadata), eventDelegate (join, leave, update),
// conflictDelegate (two addresses claiming one name) and mergeDelegate (a
// peer's node list on join). Their callbacks run on
// memberlist's packet loop, and the join and leave callbacks run while
// memberlist holds its nodeLock, so they only copy the node, update an
// in-memory view and enqueue; they never block and never call back into
// memberlist. One goroutine owned by the Gossip hands queued events to the
// consumer of Events.
//
// Members, NumMembers and LocalMember read that view, not memberlist's node
// table, so a consumer that replays Events and one that polls Members see the
// same history. When the consumer falls more than Config.EventBuffer events
// behind, the pending events are replaced by a single EventResync: the
// consumer must then rebuild its state from Members. Because Join and Update
// carry the whole member and Leave removes it, applying the events that follow
// the resync on top of the snapshot converges to the current membership.
//
// # Restarts
//
// Node identity is the name plus Meta.Epoch, the boot time of the process. A
// node that restarts under the same name comes back with a new Epoch, and its
// events carry Restarted set:
//
//   - If the cluster declared the old process dead first (the usual case
//     after a crash), consumers see EventLeave and then EventJoin with the new
//     Epoch.
//   - If it came back on the same address before anyone noticed, memberlist
//     sees only new metadata, and consumers see EventUpdate with the new
//     Epoch.
//
// A node that restarts on a new address before the old one is declared dead
// is refused by its peers until the old address is dead and
// memberlist's DeadNodeReclaimTime has passed; the restarted node notices the
// conflict and joins again, so it is back within a few seconds instead of
// waiting for the next periodic push/pull.
//
// # Profiles
//
// Config.Profile picks memberlist's timers: "lan" (tuned so a crashed node is
// declared dead by every survivor in about two seconds), "local" (loopback,
// for tests and single-host clusters), "wan" (memberlist's WAN defaults) and
// "shared" (memberlist's LAN defaults, for many nodes sharing few cores).
// profile.go documents each choice and its arithmetic.
package gossip
